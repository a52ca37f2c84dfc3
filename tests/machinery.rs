//! The machinery the core owns for every platform: its timer (an expiry republished by itself, the
//! watch for another process's writes), what recording calls hand back, and shutdown. These run on
//! the real clock, because the timer sleeps on it; waits are bounded and generous.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use kmer_consent::{
    ConsentListener, ConsentManager, ConsentSnapshot, KmerConsentError, ManualClock, OpenOptions,
    PromptReason, SdkLifecycle, SnapshotMirror, SystemClock, TrackingAuthorization, VerdictReason,
    DAY_MS,
};

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Sends every snapshot it hears to a channel.
struct Relay(Mutex<mpsc::Sender<ConsentSnapshot>>);

impl ConsentListener for Relay {
    fn on_consent_changed(&self, snapshot: ConsentSnapshot) {
        let _ = self.0.lock().unwrap().send(snapshot);
    }
}

fn listen(m: &ConsentManager) -> mpsc::Receiver<ConsentSnapshot> {
    let (tx, rx) = mpsc::channel();
    let subscription = m.add_listener(Arc::new(Relay(Mutex::new(tx)))).unwrap();
    // Kept for the manager's life: the subscription ends with `cancel`, not when dropped.
    std::mem::forget(subscription);
    rx
}

/// Waits for a snapshot that satisfies `wanted`, for at most `within`.
fn wait_for(
    rx: &mpsc::Receiver<ConsentSnapshot>,
    within: Duration,
    wanted: impl Fn(&ConsentSnapshot) -> bool,
) -> Option<ConsentSnapshot> {
    let end = Instant::now() + within;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(s) if wanted(&s) => return Some(s),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

fn one_day_policy() -> String {
    policy_with(|p| {
        p["consent_lifetime_days"] = 1.into();
        p["refusal_reprompt_days"] = 1.into();
    })
}

fn system_clock_options(f: &Fixture) -> OpenOptions {
    OpenOptions {
        clock: Arc::new(SystemClock),
        ..f.options()
    }
}

#[test]
fn an_expiry_reaches_every_listener_with_no_call_in_between() {
    let f = Fixture::new();
    let policy = one_day_policy();
    // Accepted one day minus 700 ms ago: it expires 700 ms from now.
    let decided = now_ms() - DAY_MS + 700;
    {
        let options = OpenOptions {
            clock: Arc::new(ManualClock::new(decided)),
            ..f.options()
        };
        let m = ConsentManager::open_with(&f.db(), &policy, "fr", options).unwrap();
        m.accept_all().unwrap();
        m.shutdown();
    }
    let m = ConsentManager::open_with(&f.db(), &policy, "fr", system_clock_options(&f)).unwrap();
    assert!(
        m.can_start("firebase_analytics".into()),
        "granted until the expiry"
    );
    let first = m.snapshot();
    assert!(
        first.stale_after_ms.is_some(),
        "the snapshot says when it goes stale"
    );
    let heard = listen(&m);
    let expired = wait_for(&heard, Duration::from_secs(10), |s| {
        s.status.prompt_reason == Some(PromptReason::Expired)
    })
    .expect("the core's timer published the expiry by itself");
    assert!(expired.sequence > first.sequence);
    assert!(!expired.sdks["firebase_analytics"].allowed);
    assert!(!m.can_start("firebase_analytics".into()));
}

#[test]
fn a_watch_brings_another_process_decision_and_stops_when_cancelled() {
    let f = Fixture::new();
    let here = ConsentManager::open_with(
        &f.db(),
        &sample_policy_json(),
        "fr",
        system_clock_options(&f),
    )
    .unwrap();
    let other = ConsentManager::open_with(
        &f.db(),
        &sample_policy_json(),
        "fr",
        system_clock_options(&f),
    )
    .unwrap();
    let heard = listen(&here);
    let watch = here.watch_for_changes(20).unwrap();
    other.accept_all().unwrap();
    wait_for(&heard, Duration::from_secs(5), |s| {
        s.sdks["firebase_analytics"].allowed
    })
    .expect("the watch re-read the store and published the other process's decision");
    assert!(here.can_start("firebase_analytics".into()));

    watch.cancel();
    watch.cancel(); // idempotent
    other.reject_all().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        here.can_start("firebase_analytics".into()),
        "no watch: nothing re-read the store (a refresh would)"
    );
    here.refresh().unwrap();
    assert!(!here.can_start("firebase_analytics".into()));
}

#[test]
fn recording_calls_hand_back_the_snapshot_they_published() {
    let f = Fixture::new();
    let m = f.open();
    let heard = listen(&m);
    let first = heard.recv_timeout(Duration::from_secs(1)).unwrap();
    let accepted = m.accept_all().unwrap();
    assert_eq!(
        accepted,
        m.snapshot(),
        "what the call returns is what is in force"
    );
    assert!(accepted.sequence > first.sequence);
    assert_eq!(
        heard.recv_timeout(Duration::from_secs(1)).unwrap(),
        accepted
    );
    // A call that changes nothing hands back the snapshot in force, and publishes nothing new.
    let again = m.refresh().unwrap();
    assert_eq!(again, accepted);
    assert!(heard.try_recv().is_err(), "nothing new was published");
    let tracked = m
        .set_tracking_authorization(TrackingAuthorization::Denied)
        .unwrap();
    assert_eq!(
        tracked.sdks["meta_audience_network"].reason,
        VerdictReason::TrackingNotAuthorized
    );
    assert_eq!(m.refresh_if_changed().unwrap(), None, "nothing else wrote");
}

#[test]
fn may_request_tracking_only_after_marketing_and_before_att_answered() {
    let f = Fixture::new();
    let m = f.open();
    assert!(!m.may_request_tracking_authorization(TrackingAuthorization::NotDetermined));
    m.save([(kmer_consent::Category::Marketing, true)].into())
        .unwrap();
    assert!(m.may_request_tracking_authorization(TrackingAuthorization::NotDetermined));
    assert!(!m.may_request_tracking_authorization(TrackingAuthorization::Denied));
    m.withdraw().unwrap();
    assert!(!m.may_request_tracking_authorization(TrackingAuthorization::NotDetermined));
}

struct Counting(Arc<Mutex<Vec<&'static str>>>);

impl SdkLifecycle for Counting {
    fn start(&self) {
        self.0.lock().unwrap().push("start");
    }
    fn stop(&self) {
        self.0.lock().unwrap().push("stop");
    }
}

#[test]
fn after_shutdown_nothing_is_allowed_and_every_call_is_closed() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let _sdk = m
        .register_sdk(
            "google_mobile_ads".into(),
            Arc::new(Counting(calls.clone())),
        )
        .unwrap();
    let heard = listen(&m);
    let _ = heard.recv_timeout(Duration::from_secs(1)).unwrap();
    assert!(open_handles(&f.db()) > 0, "the store is open");

    let last = m.shutdown();
    assert_eq!(open_handles(&f.db()), 0, "shutdown released the store");
    assert_eq!(m.shutdown(), last, "idempotent");
    assert!(last
        .sdks
        .values()
        .all(|v| v.reason == VerdictReason::Closed && !v.allowed));
    assert!(last.status.categories.values().all(|granted| !granted));
    assert!(last.iab_tcf_keys.is_empty() && last.tc_string.is_none());
    assert!(!m.can_start("google_mobile_ads".into()));
    assert!(
        !m.can_start("kmer_session".into()),
        "not even essential SDKs"
    );
    assert_eq!(m.check("kmer_session".into()).reason, VerdictReason::Closed);
    assert!(!m.is_granted(kmer_consent::Category::Essential));
    assert_eq!(m.snapshot(), last);

    // Closed comes first, before any input is looked at.
    let closed = Err(KmerConsentError::Closed);
    assert_eq!(m.accept_all().map(|_| ()), closed);
    assert_eq!(m.refresh().map(|_| ()), closed);
    assert_eq!(
        m.save([(kmer_consent::Category::Essential, false)].into())
            .map(|_| ()),
        closed
    );
    assert_eq!(m.update_policy("not json".into()).map(|_| ()), closed);
    assert_eq!(m.set_subject(Some(String::new())).map(|_| ()), closed);
    assert_eq!(m.apply_ui_message("{".into()).map(|_| ()), closed);
    assert_eq!(m.import_receipt("{".into()).map(|_| ()), closed);
    assert_eq!(m.acknowledge_signed("{".into()), closed);
    assert_eq!(m.refresh_if_changed().map(|_| ()), closed);
    assert_eq!(m.history().map(|_| ()), closed);
    assert_eq!(m.verify_history().map(|_| ()), closed);
    assert_eq!(m.pending_receipts(10).map(|_| ()), closed);
    assert_eq!(m.export_proof().map(|_| ()), closed);
    assert_eq!(m.set_locale("en".into()).map(|_| ()), closed);
    assert_eq!(m.banner("en".into()).map(|_| ()), closed);
    assert_eq!(
        m.consent_page("en".into(), kmer_consent::ConsentPageLayer::Banner)
            .map(|_| ()),
        closed
    );
    assert!(matches!(
        m.add_listener(Arc::new(Relay(Mutex::new(mpsc::channel().0)))),
        Err(KmerConsentError::Closed)
    ));
    assert!(matches!(
        m.mirror_to(Arc::new(Mirror::default())),
        Err(KmerConsentError::Closed)
    ));
    assert!(matches!(
        m.watch_for_changes(10),
        Err(KmerConsentError::Closed)
    ));
    assert!(matches!(
        m.register_sdk(
            "google_mobile_ads".into(),
            Arc::new(Counting(calls.clone()))
        ),
        Err(KmerConsentError::Closed)
    ));
    assert_eq!(
        KmerConsentError::Closed.to_string(),
        "the consent SDK instance is closed"
    );
    assert!(
        heard.try_recv().is_err(),
        "no listener hears anything after shutdown"
    );
    assert_eq!(
        *calls.lock().unwrap(),
        ["start"],
        "no SDK callback after shutdown"
    );

    // The store kept the decision.
    let other = f.open();
    assert!(other.can_start("google_mobile_ads".into()));
}

#[test]
fn a_manager_dropped_without_shutdown_is_freed() {
    let f = Fixture::new();
    let m = f.open();
    let _watch = m.watch_for_changes(10).unwrap();
    let weak = Arc::downgrade(&m);
    drop(m);
    let end = Instant::now() + Duration::from_secs(5);
    while weak.upgrade().is_some() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        weak.upgrade().is_none(),
        "the timer holds the manager only weakly"
    );
}

/// Keeps the last snapshot it was told, as a platform's cache does.
#[derive(Default)]
struct Mirror(Mutex<Vec<ConsentSnapshot>>);

impl SnapshotMirror for Mirror {
    fn mirror(&self, snapshot: ConsentSnapshot) {
        self.0.lock().unwrap().push(snapshot);
    }
}

/// Says it was entered, then blocks for a while, as a slow app listener would.
struct Slow(Mutex<mpsc::Sender<()>>);

impl ConsentListener for Slow {
    fn on_consent_changed(&self, _: ConsentSnapshot) {
        let _ = self.0.lock().unwrap().send(());
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn the_platform_mirror_is_current_when_a_call_returns_even_while_listeners_lag() {
    let f = Fixture::new();
    let m = f.open();
    let mirror = Arc::new(Mirror::default());
    m.mirror_to(mirror.clone()).unwrap();
    assert_eq!(
        mirror.0.lock().unwrap().last(),
        Some(&m.snapshot()),
        "told at once"
    );
    let (entered_tx, entered) = mpsc::channel();
    let _slow = m
        .add_listener(Arc::new(Slow(Mutex::new(entered_tx))))
        .unwrap();
    let heard = listen(&m);
    let _ = heard.recv_timeout(Duration::from_secs(2)).unwrap();
    while entered.try_recv().is_ok() {} // the replay at registration

    // Another thread is inside the slow listener, delivering, while this one records.
    let busy = {
        let m = Arc::clone(&m);
        std::thread::spawn(move || m.reject_all().unwrap())
    };
    entered
        .recv_timeout(Duration::from_secs(5))
        .expect("the other thread delivers");
    let accepted = m.accept_all().unwrap();
    assert_eq!(
        mirror.0.lock().unwrap().last(),
        Some(&accepted),
        "the mirror already holds what the call returned"
    );
    assert!(
        heard.try_iter().all(|s| s.sequence < accepted.sequence),
        "while the listeners have not been told yet"
    );
    busy.join().unwrap();
    let told = mirror.0.lock().unwrap().clone();
    let sequences: Vec<u64> = told.iter().map(|s| s.sequence).collect();
    let mut sorted = sequences.clone();
    sorted.sort();
    assert_eq!(sequences, sorted, "in order");

    let closed = m.shutdown();
    assert_eq!(
        mirror.0.lock().unwrap().last(),
        Some(&closed),
        "told of the shutdown"
    );
    assert_eq!(
        m.mirror_to(Arc::new(Mirror::default())),
        Err(KmerConsentError::Closed)
    );
}

#[test]
fn the_not_ready_snapshot_allows_nothing_and_comes_before_every_real_one() {
    let waiting =
        kmer_consent::not_ready_snapshot("fr-CM".into(), TrackingAuthorization::Authorized);
    assert_eq!(waiting.sequence, 0);
    assert!(
        waiting.sdks.is_empty(),
        "every SDK id is unknown, so denied"
    );
    assert_eq!(
        waiting.status.categories.len(),
        4,
        "all four categories are listed"
    );
    assert!(
        waiting.status.categories.values().all(|granted| !granted),
        "not even essential"
    );
    assert!(!waiting.status.needs_prompt && waiting.status.prompt_reason.is_none());
    assert_eq!(
        waiting.consent_mode,
        kmer_consent::ConsentModeSignals::DENIED
    );
    assert!(waiting.tc_string.is_none() && waiting.iab_tcf_keys.is_empty());
    assert_eq!(waiting.status.locale, "fr-CM");
    assert_eq!(
        waiting.status.tracking_authorization,
        TrackingAuthorization::Authorized
    );

    // A listener keeps the newest sequence: the first real snapshot must replace this one.
    let f = Fixture::new();
    let m = f.open();
    assert!(m.snapshot().sequence > waiting.sequence);
}
