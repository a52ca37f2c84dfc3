//! Locking that survives a poisoned mutex: no code path panics while holding one of the core's
//! locks, and every change is computed before anything is replaced, so the data behind a lock
//! poisoned by a panic elsewhere (a foreign callback, in principle) is still whole.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the data back if a panic ever poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
