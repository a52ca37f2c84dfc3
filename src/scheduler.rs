//! The manager's one timer, written once for every platform: it republishes when time alone changes
//! the gate (an expiry or a reminder falls due) and, while a watch is on, looks for another process's
//! writes. What it finds reaches the platforms as snapshots through the listeners they already have.
//!
//! One thread per manager, started at open, asleep unless there is something to wait for. It reads
//! the deadline without touching the manager, and holds the manager only weakly and only while it
//! acts (a deadline passed, a watch look due), so a manager dropped without `shutdown` is freed on
//! the thread that drops it (the timer thread then ends at its next wake-up).
//!
//! Sleep: the wait is measured on a monotonic clock, which stops while the device is in deep sleep
//! (Linux and Android's `CLOCK_MONOTONIC`, Darwin's `mach_absolute_time`). A wait therefore lasts at
//! most [`MAX_SLEEP`] and the deadline is compared with the wall clock at each wake-up: a deadline
//! passed asleep is noticed at most that long after waking, and so is a clock set back or an
//! untrusted clock (the gate is stale, whatever its deadline). Android's layer also forwards the
//! wake-ups a user sees (screen on, activity resumed, clock set) as `refresh`; on iOS the app calls
//! `refresh()` when it becomes active (the README shows where).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

/// The longest single wait while a deadline is pending.
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How soon to look again at a deadline that has already passed (the gate was recomputed and still
/// says it is stale: a clock mark ahead of the clock).
pub(crate) const RETRY: Duration = Duration::from_secs(1);

/// The shortest watch period: a watch asks SQLite one question per period.
pub(crate) const MIN_WATCH_PERIOD: Duration = Duration::from_millis(10);

/// The longest watch period (a longer one is taken as this): no `Instant` arithmetic can overflow.
pub(crate) const MAX_WATCH_PERIOD: Duration = Duration::from_secs(86_400);

/// How long until time alone makes the published gate wrong, in ms on the wall clock (zero or less:
/// now); `None` when nothing is pending. Read without the manager.
pub(crate) type UntilDeadline = Box<dyn Fn() -> Option<i64> + Send>;

/// What the timer drives: the manager.
pub(crate) trait Timed: Send + Sync + 'static {
    /// A deadline passed: recompute the gate and publish it if it changed.
    fn deadline_passed(&self);
    /// A watch period passed: re-read the store if another process wrote to it.
    fn watch_tick(&self);
}

#[derive(Default)]
struct State {
    stopped: bool,
    /// Set by [`Scheduler::nudge`]: something changed, work out the next wake-up again.
    nudged: bool,
    /// The active watches and their periods; the shortest applies.
    watches: HashMap<u64, Duration>,
    next_watch_id: u64,
    /// When the next watch look is due.
    next_watch: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; the state stays consistent if something ever did.
        crate::locks::lock(&self.state)
    }
}

/// The timer of one manager.
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
}

impl Scheduler {
    pub(crate) fn new() -> Self {
        Scheduler {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
            }),
        }
    }

    /// Starts the thread. Without a thread (the system refused one) nothing is republished by time
    /// alone, which fails closed: a stale gate is still recomputed when it is read (`status`,
    /// `snapshot`, `refresh`) and a cached verdict is checked against the clock.
    pub(crate) fn start<T: Timed>(&self, target: Weak<T>, until_deadline: UntilDeadline) {
        let shared = Arc::clone(&self.shared);
        // Detached: `stop` never waits for it (it may be running an app's callback that waits for
        // the thread calling `stop`); it sees `stopped` at its next wake-up and ends.
        let _ = thread::Builder::new()
            .name("kmer-consent-timer".into())
            .spawn(move || run(&shared, &target, &until_deadline));
    }

    /// The published gate changed, or the clock did: work out the next wake-up again.
    pub(crate) fn nudge(&self) {
        self.shared.lock().nudged = true;
        self.shared.wake.notify_all();
    }

    /// Starts a watch that looks for another process's writes every `period` (at least
    /// [`MIN_WATCH_PERIOD`]); it runs until its handle is cancelled or the scheduler stops.
    pub(crate) fn watch(&self, period: Duration) -> TaskHandle {
        let mut state = self.shared.lock();
        if state.stopped {
            return TaskHandle {
                shared: Weak::new(),
                id: 0,
            };
        }
        let id = state.next_watch_id;
        state.next_watch_id += 1;
        let period = period.clamp(MIN_WATCH_PERIOD, MAX_WATCH_PERIOD);
        state.watches.insert(id, period);
        let first = Instant::now() + period;
        state.next_watch = Some(state.next_watch.map_or(first, |due| due.min(first)));
        state.nudged = true;
        drop(state);
        self.shared.wake.notify_all();
        TaskHandle {
            shared: Arc::downgrade(&self.shared),
            id,
        }
    }

    /// Stops the thread and every watch, without waiting: the thread ends at its next wake-up, and
    /// whatever it is doing meanwhile finds the manager closed.
    pub(crate) fn stop(&self) {
        {
            let mut state = self.shared.lock();
            state.stopped = true;
            state.watches.clear();
            state.next_watch = None;
        }
        self.shared.wake.notify_all();
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        // The manager is being freed, perhaps by its own timer thread's last strong reference: never
        // join here, just let the thread see it is stopped.
        self.shared.lock().stopped = true;
        self.shared.wake.notify_all();
    }
}

/// The timer thread: wait for the nearest of the deadline and the next watch look, then act.
fn run<T: Timed>(shared: &Shared, target: &Weak<T>, until_deadline: &UntilDeadline) {
    loop {
        let wait_deadline = until_deadline().map(|ms| {
            if ms <= 0 {
                RETRY
            } else {
                Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)).min(MAX_SLEEP)
            }
        });
        let mut state = shared.lock();
        if state.stopped {
            return;
        }
        let now = Instant::now();
        let wait_watch = state
            .next_watch
            .map(|due| due.saturating_duration_since(now));
        let wait = match (wait_deadline, wait_watch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if !state.nudged {
            state = match wait {
                Some(wait) => {
                    shared
                        .wake
                        .wait_timeout(state, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => shared.wake.wait(state).unwrap_or_else(|p| p.into_inner()),
            };
        }
        if state.stopped {
            return;
        }
        state.nudged = false;
        let now = Instant::now();
        let watch_due = state.next_watch.is_some_and(|due| now >= due);
        if watch_due {
            state.next_watch = state.watches.values().min().map(|period| now + *period);
        }
        drop(state);
        let deadline_due = until_deadline().is_some_and(|ms| ms <= 0);
        if !deadline_due && !watch_due {
            continue;
        }
        // Hold the manager only while acting, never while asleep.
        let Some(target) = target.upgrade() else {
            return;
        };
        if deadline_due {
            target.deadline_passed();
        }
        // A watch cancelled since it fell due does not look once more.
        if watch_due && !shared.lock().watches.is_empty() {
            target.watch_tick();
        }
    }
}

/// Background work the core runs for the app (a watch for another process's writes), handed out so
/// the app can stop it. Dropping the handle does not stop the work: call `cancel`.
#[derive(uniffi::Object)]
pub struct TaskHandle {
    shared: Weak<Shared>,
    id: u64,
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the work. Idempotent; harmless after the manager was shut down.
    pub fn cancel(&self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut state = shared.lock();
        if state.watches.remove(&self.id).is_some() && state.watches.is_empty() {
            state.next_watch = None;
        }
        state.nudged = true;
        drop(state);
        shared.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_period_too_long_for_the_clock_is_clamped_not_a_panic() {
        // `Instant + Duration::MAX` overflows on every platform (on Darwin already at u64::MAX ms,
        // which the FFI accepts): the timer thread would die and no expiry would be republished.
        let scheduler = Scheduler::new();
        let forever = scheduler.watch(Duration::MAX);
        let state = scheduler.shared.lock();
        assert_eq!(state.watches.values().max(), Some(&MAX_WATCH_PERIOD));
        drop(state);
        forever.cancel();
        assert!(scheduler.shared.lock().watches.is_empty());
        assert!(scheduler.shared.lock().next_watch.is_none());
    }
}
