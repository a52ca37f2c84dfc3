//! Listeners, SDK start/stop callbacks, re-entrancy and readers running beside a writer.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Fixture;
use kmer_consent::{
    Category, ConsentListener, ConsentManager, ConsentSnapshot, KmerConsentError, SdkLifecycle,
    VerdictReason,
};

#[derive(Default)]
struct Recorder(Mutex<Vec<ConsentSnapshot>>);

impl ConsentListener for Recorder {
    fn on_consent_changed(&self, snapshot: ConsentSnapshot) {
        self.0.lock().unwrap().push(snapshot);
    }
}

impl Recorder {
    fn sequences(&self) -> Vec<u64> {
        self.0.lock().unwrap().iter().map(|s| s.sequence).collect()
    }
    fn last(&self) -> ConsentSnapshot {
        self.0.lock().unwrap().last().cloned().expect("a snapshot")
    }
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

#[derive(Default)]
struct Sdk(Mutex<Vec<&'static str>>);

impl SdkLifecycle for Sdk {
    fn start(&self) {
        self.0.lock().unwrap().push("start");
    }
    fn stop(&self) {
        self.0.lock().unwrap().push("stop");
    }
}

impl Sdk {
    fn calls(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }
}

/// Runs `f` on another thread and fails if it does not finish in time (a deadlock).
fn within_seconds<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("finished in time: no deadlock")
}

#[test]
fn a_listener_gets_the_current_snapshot_then_every_change_in_order() {
    let f = Fixture::new();
    let m = f.open();
    let recorder = Arc::new(Recorder::default());
    let subscription = m.add_listener(recorder.clone()).unwrap();
    assert_eq!(recorder.count(), 1, "the current snapshot at once");
    assert_eq!(recorder.last(), m.snapshot());

    m.accept_all().unwrap();
    assert_eq!(recorder.count(), 2);
    assert_eq!(
        recorder.last().sdks["firebase_analytics"].reason,
        VerdictReason::Granted
    );
    m.reject_all().unwrap();
    assert_eq!(
        recorder.last().sdks["firebase_analytics"].reason,
        VerdictReason::Refused
    );
    let sequences = recorder.sequences();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    assert_eq!(recorder.last(), m.snapshot());

    subscription.cancel();
    subscription.cancel();
    m.accept_all().unwrap();
    assert_eq!(recorder.count(), 3, "no call after cancel");
}

#[test]
fn a_failed_write_notifies_nobody() {
    let f = Fixture::new();
    let m = f.open();
    let recorder = Arc::new(Recorder::default());
    let _s = m.add_listener(recorder.clone()).unwrap();
    assert!(m.save([(Category::Essential, false)].into()).is_err());
    assert_eq!(recorder.count(), 1);
}

#[test]
fn sdks_start_once_when_allowed_and_stop_when_not() {
    let f = Fixture::new();
    let m = f.open();
    let analytics = Arc::new(Sdk::default());
    let _s = m
        .register_sdk("firebase_analytics".into(), analytics.clone())
        .unwrap();
    assert!(analytics.calls().is_empty(), "not allowed yet");

    m.accept_all().unwrap();
    assert_eq!(analytics.calls(), ["start"]);
    m.accept_all().unwrap();
    m.save([(Category::Statistics, true)].into()).unwrap();
    assert_eq!(analytics.calls(), ["start"], "never started twice");
    m.withdraw().unwrap();
    assert_eq!(analytics.calls(), ["start", "stop"]);
    m.reject_all().unwrap();
    assert_eq!(analytics.calls(), ["start", "stop"], "never stopped twice");
}

#[test]
fn an_sdk_already_allowed_starts_at_registration() {
    let f = Fixture::new();
    let m = f.open();
    let session = Arc::new(Sdk::default());
    let _s1 = m
        .register_sdk("kmer_session".into(), session.clone())
        .unwrap();
    assert_eq!(session.calls(), ["start"], "essential needs no consent");

    m.accept_all().unwrap();
    let ads = Arc::new(Sdk::default());
    let subscription = m
        .register_sdk("google_mobile_ads".into(), ads.clone())
        .unwrap();
    assert_eq!(ads.calls(), ["start"]);
    subscription.cancel();
    m.reject_all().unwrap();
    assert_eq!(ads.calls(), ["start"], "cancelled: no stop either");
}

#[test]
fn tracking_authorization_drives_the_lifecycle_too() {
    let f = Fixture::new();
    let m = f.open();
    let meta = Arc::new(Sdk::default());
    let _s = m
        .register_sdk("meta_audience_network".into(), meta.clone())
        .unwrap();
    m.accept_all().unwrap();
    assert!(meta.calls().is_empty(), "ATT not determined");
    m.set_tracking_authorization(kmer_consent::TrackingAuthorization::Authorized)
        .unwrap();
    assert_eq!(meta.calls(), ["start"]);
    m.set_tracking_authorization(kmer_consent::TrackingAuthorization::Denied)
        .unwrap();
    assert_eq!(meta.calls(), ["start", "stop"]);
}

#[test]
fn expiry_stops_sdks_when_the_app_refreshes() {
    let f = Fixture::new();
    let m = f.open();
    let ads = Arc::new(Sdk::default());
    let _s = m
        .register_sdk("google_mobile_ads".into(), ads.clone())
        .unwrap();
    m.accept_all().unwrap();
    f.clock.advance_days(391);
    m.refresh().unwrap();
    assert_eq!(ads.calls(), ["start", "stop"]);
}

#[test]
fn registering_an_unknown_sdk_is_an_error() {
    let f = Fixture::new();
    let m = f.open();
    let result = m.register_sdk("nope".into(), Arc::new(Sdk::default()));
    assert!(matches!(result, Err(KmerConsentError::UnknownSdk { sdk_id }) if sdk_id == "nope"));
}

/// A listener that reacts to a grant by calling back into the manager.
struct Reentrant {
    manager: Mutex<Option<Arc<ConsentManager>>>,
    calls: AtomicUsize,
}

impl ConsentListener for Reentrant {
    fn on_consent_changed(&self, snapshot: ConsentSnapshot) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let manager = self.manager.lock().unwrap().clone();
        if let Some(m) = manager {
            let _ = m.status();
            let _ = m.can_start("firebase_analytics".into());
            let _ = m.history();
            if snapshot.sdks["google_mobile_ads"].allowed {
                // e.g. a marketing SDK that cannot run here withdraws marketing at once.
                m.save([(Category::Statistics, true)].into()).unwrap();
            }
        }
    }
}

#[test]
fn a_listener_may_call_back_into_the_manager_without_deadlock() {
    let f = Fixture::new();
    let m = f.open();
    let listener = Arc::new(Reentrant {
        manager: Mutex::new(Some(m.clone())),
        calls: AtomicUsize::new(0),
    });
    let recorder = Arc::new(Recorder::default());
    let _a = m.add_listener(listener.clone()).unwrap();
    let _b = m.add_listener(recorder.clone()).unwrap();
    let m2 = m.clone();
    within_seconds(10, move || m2.accept_all().unwrap());

    // The nested save ran after the accept, and every listener saw both, in order.
    assert!(!m.can_start("google_mobile_ads".into()));
    assert!(m.can_start("firebase_analytics".into()));
    let history = m.history().unwrap();
    assert_eq!(history.len(), 2);
    let seen: Vec<bool> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.sdks["google_mobile_ads"].allowed)
        .collect();
    assert_eq!(seen, [false, true, false]);
    assert_eq!(listener.calls.load(Ordering::SeqCst), 3);
    *listener.manager.lock().unwrap() = None; // break the cycle
}

struct StartsAnother {
    manager: Arc<ConsentManager>,
    other: Arc<Sdk>,
    done: AtomicBool,
}

impl SdkLifecycle for StartsAnother {
    fn start(&self) {
        assert!(self.manager.can_start("firebase_analytics".into()));
        if !self.done.swap(true, Ordering::SeqCst) {
            // Registering from inside a callback, as an SDK bootstrapping a dependency would.
            let s = self
                .manager
                .register_sdk("kmer_recommendations".into(), self.other.clone())
                .unwrap();
            std::mem::forget(s);
        }
    }
    fn stop(&self) {
        self.manager.withdraw().unwrap();
    }
}

#[test]
fn a_lifecycle_callback_may_call_back_into_the_manager_without_deadlock() {
    let f = Fixture::new();
    let m = f.open();
    let other = Arc::new(Sdk::default());
    let sdk = Arc::new(StartsAnother {
        manager: m.clone(),
        other: other.clone(),
        done: AtomicBool::new(false),
    });
    let _s = m.register_sdk("firebase_analytics".into(), sdk).unwrap();
    let m2 = m.clone();
    within_seconds(10, move || {
        m2.accept_all().unwrap();
        m2.save([(Category::Personalization, true)].into()).unwrap(); // stops analytics → withdraw
    });
    assert_eq!(other.calls(), ["start", "stop"]);
    assert_eq!(m.history().unwrap().len(), 3);
    assert!(!m.can_start("kmer_recommendations".into()));
}

struct Panics;

impl ConsentListener for Panics {
    fn on_consent_changed(&self, _: ConsentSnapshot) {
        panic!("a listener that throws");
    }
}

#[test]
fn a_failing_listener_does_not_stop_the_others() {
    let f = Fixture::new();
    let m = f.open();
    let _p = m.add_listener(Arc::new(Panics)).unwrap();
    let recorder = Arc::new(Recorder::default());
    let _r = m.add_listener(recorder.clone()).unwrap();
    m.accept_all().unwrap();
    m.reject_all().unwrap();
    assert_eq!(recorder.count(), 3);
    assert_eq!(
        recorder.last().sdks["firebase_analytics"].reason,
        VerdictReason::Refused
    );
}

#[test]
fn readers_beside_a_writer_never_see_half_a_decision() {
    let f = Fixture::new();
    let m = f.open();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let s = m.snapshot();
                    // Statistics and personalization always change together below.
                    assert_eq!(
                        s.sdks["firebase_analytics"].allowed,
                        s.sdks["kmer_recommendations"].allowed
                    );
                    assert_eq!(
                        s.status.categories[&Category::Statistics],
                        s.status.categories[&Category::Personalization]
                    );
                    let _ = m.can_start("google_mobile_ads".into());
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..200 {
        let on = i % 2 == 0;
        m.save([(Category::Statistics, on), (Category::Personalization, on)].into())
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("no reader panicked") > 0);
    }
}
