//! Time is injected, so every time-dependent rule is tested by travelling in time, not by sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds in a day; policy durations are whole days.
pub const DAY_MS: i64 = 86_400_000;

/// A source of wall-clock time, in milliseconds since the Unix epoch (UTC).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The device's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // A clock set before 1970: report the epoch; the high-water mark keeps time monotonic.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to: tests, and the CLI's `--now`.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        ManualClock(AtomicI64::new(now_ms))
    }
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
    pub fn advance_days(&self, days: i64) {
        self.0
            .fetch_add(days.saturating_mul(DAY_MS), Ordering::SeqCst);
    }
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// `days` after `from_ms`, saturating instead of overflowing.
pub fn days_after(from_ms: i64, days: u32) -> i64 {
    from_ms.saturating_add(i64::from(days).saturating_mul(DAY_MS))
}
