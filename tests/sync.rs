//! Profiles, the outbox, the back end's witness, imports from other devices, and erasure.

mod common;

use common::{Backend, Fixture, T0};
use kmer_consent::{
    Category, ConsentManager, DecisionSource, KmerConsentError, PromptReason, DAY_MS,
};
use serde_json::Value;

#[test]
fn a_user_logging_in_takes_the_devices_refusal_and_logging_out_returns_to_it() {
    let f = Fixture::new();
    let m = f.open();
    m.reject_all().unwrap();
    f.clock.advance_ms(5_000);

    let status = m.set_subject(Some("account-42".into())).unwrap();
    assert!(!status.status.needs_prompt, "not asked twice");
    assert_eq!(status.status.last_source, Some(DecisionSource::SubjectLink));
    assert_eq!(
        status.status.decided_at_ms,
        Some(T0),
        "adopting does not extend the decision's age"
    );
    let mine = m.history().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].subject, "account-42");

    // The user changes their mind while logged in; the device keeps its own decision.
    m.accept_all().unwrap();
    assert!(m.can_start("firebase_analytics".into()));
    m.set_subject(None).unwrap();
    assert!(
        !m.can_start("firebase_analytics".into()),
        "back to the device's decision"
    );
    // Logging in again finds the user's own decision.
    m.set_subject(Some("account-42".into())).unwrap();
    assert!(m.can_start("firebase_analytics".into()));
    assert_eq!(m.status().last_source, Some(DecisionSource::AcceptAll));
    assert!(m.verify_history().unwrap().intact);
    // The adoption never goes to the back end; the user's own choices do.
    let sources: Vec<Value> = m
        .pending_receipts(10)
        .unwrap()
        .iter()
        .map(|p| serde_json::from_str::<Value>(&p.receipt_json).unwrap()["event"]["type"].clone())
        .collect();
    assert_eq!(sources, ["reject_all", "accept_all"]);
}

#[test]
fn a_device_decision_that_grants_anything_is_not_taken_by_the_account() {
    let f = Fixture::new();
    let m = f.open();
    m.save([(Category::Statistics, true)].into()).unwrap();
    let status = m.set_subject(Some("account-42".into())).unwrap();
    assert_eq!(status.status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(!m.can_start("firebase_analytics".into()));
    assert!(m.history().unwrap().is_empty());
}

#[test]
fn a_user_with_no_decision_on_a_device_without_one_is_asked() {
    let f = Fixture::new();
    let m = f.open();
    let status = m.set_subject(Some("new-user".into())).unwrap();
    assert_eq!(status.status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(m.history().unwrap().is_empty());
    assert!(matches!(
        m.set_subject(Some(String::new())),
        Err(KmerConsentError::InvalidSubject { .. })
    ));
    assert!(matches!(
        m.set_subject(Some("x".repeat(513))),
        Err(KmerConsentError::InvalidSubject { .. })
    ));
}

#[test]
fn profiles_are_unlimited_and_separate() {
    let f = Fixture::new();
    let m = f.open();
    for i in 0..200 {
        m.set_subject(Some(format!("user-{i}"))).unwrap();
        if i % 2 == 0 {
            m.accept_all().unwrap();
        } else {
            m.reject_all().unwrap();
        }
    }
    for i in [0, 1, 198, 199] {
        m.set_subject(Some(format!("user-{i}"))).unwrap();
        assert_eq!(
            m.can_start("google_mobile_ads".into()),
            i % 2 == 0,
            "user-{i}"
        );
    }
    assert_eq!(m.verify_history().unwrap().records, 200);
}

#[test]
fn every_decision_waits_in_the_outbox_until_acknowledged_even_across_restarts() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    m.reject_all().unwrap();
    m.withdraw().unwrap();
    drop(m);

    let m = f.open();
    let pending = m.pending_receipts(10).unwrap();
    assert_eq!(
        pending.iter().map(|p| p.id).collect::<Vec<_>>(),
        [1, 2, 3],
        "in order"
    );
    assert!(pending[0].receipt_json.contains("\"type\":\"accept_all\""));
    kmer_consent::verify_receipt(&pending[2].receipt_json).expect("each is a valid receipt");
    assert_eq!(m.pending_receipts(2).unwrap().len(), 2, "the limit holds");

    m.acknowledge(vec![1, 2, 999]).unwrap();
    drop(m);
    let m = f.open();
    let pending = m.pending_receipts(10).unwrap();
    assert_eq!(pending.iter().map(|p| p.id).collect::<Vec<_>>(), [3]);
    m.acknowledge(vec![3]).unwrap();
    assert!(m.pending_receipts(10).unwrap().is_empty());
}

#[test]
fn the_back_ends_signed_acknowledgement_witnesses_a_record() {
    let backend = Backend::new();
    let f = Fixture::new();
    let m = f.open_witnessed(&backend);
    m.accept_all().unwrap();
    m.reject_all().unwrap();
    let pending = m.pending_receipts(10).unwrap();
    let hash = |i: usize| {
        serde_json::from_str::<Value>(&pending[i].receipt_json).unwrap()["integrity"]["record_hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    m.acknowledge_signed(backend.witness(&hash(0), T0 + 1000).to_string())
        .unwrap();
    assert_eq!(
        m.pending_receipts(10).unwrap().len(),
        1,
        "out of the outbox"
    );
    let history = m.history().unwrap();
    assert_eq!(history[0].witnessed_at_ms, Some(T0 + 1000));
    assert_eq!(history[1].witnessed_at_ms, None);
    let check = m.verify_history().unwrap();
    assert!(check.intact);
    assert_eq!(check.witnessed_records, 1);
    assert_eq!(check.last_witnessed_record, Some(1));
    assert_eq!(check.last_witnessed_at_ms, Some(T0 + 1000));

    // Another key's signature, an edited time, or a record that is not here: refused.
    let impostor = Backend::new();
    let mut edited = backend.witness(&hash(1), T0 + 2000);
    edited["backend_time_ms"] = (T0 + 3000).into();
    for refused in [
        impostor.witness(&hash(1), T0 + 2000),
        edited,
        backend.witness(&"ab".repeat(32), T0 + 2000),
    ] {
        assert!(matches!(
            m.acknowledge_signed(refused.to_string()),
            Err(KmerConsentError::InvalidAcknowledgement { .. })
        ));
    }
    assert_eq!(m.pending_receipts(10).unwrap().len(), 1);
    // Without a back end key there is nothing to check it with.
    drop(m);
    assert!(matches!(
        f.open()
            .acknowledge_signed(backend.witness(&hash(1), T0).to_string()),
        Err(KmerConsentError::BackendKey { .. })
    ));
}

/// A device of `user` whose clock reads `at`, with a decision, and that decision's receipt.
fn remote(backend: &Backend, user: &str, at: i64, accept: bool) -> (Fixture, String) {
    let other = Fixture::new();
    other.clock.set(at);
    let m = other.open_witnessed(backend);
    m.set_subject(Some(user.into())).unwrap();
    if accept {
        m.accept_all().unwrap();
    } else {
        m.reject_all().unwrap();
    }
    let receipt = m.pending_receipts(1).unwrap().remove(0).receipt_json;
    (other, receipt)
}

fn logged_in(f: &Fixture, backend: &Backend, user: &str) -> std::sync::Arc<ConsentManager> {
    let m = f.open_witnessed(backend);
    m.set_subject(Some(user.into())).unwrap();
    m
}

#[test]
fn a_decision_the_back_end_saw_later_is_imported_once() {
    let backend = Backend::new();
    let f = Fixture::new();
    let m = logged_in(&f, &backend, "account-7");
    m.reject_all().unwrap();
    backend.witness_all(&m, T0 + 1000);

    let (_tablet, acceptance) = remote(&backend, "account-7", T0 + 500, true);
    let newer = backend.countersign(&acceptance, T0 + 2000);
    assert!(m.import_receipt(newer.clone()).unwrap().is_some());
    let status = m.status();
    assert_eq!(status.last_source, Some(DecisionSource::Import));
    assert_eq!(
        status.decided_at_ms,
        Some(T0 + 500),
        "the other device's time"
    );
    assert!(m.can_start("google_mobile_ads".into()));
    assert!(
        m.import_receipt(newer).unwrap().is_none(),
        "never imported twice"
    );
    assert_eq!(m.history().unwrap().len(), 2);
    assert_eq!(m.history().unwrap()[1].witnessed_at_ms, Some(T0 + 2000));
    let check = m.verify_history().unwrap();
    assert!(check.intact && check.witnessed_records == 2, "{check:?}");
    assert!(
        m.pending_receipts(10).unwrap().is_empty(),
        "imports are not sent back"
    );

    // Seen by the back end before the acceptance above and dated before it: older, ignored.
    let (_phone2, older) = remote(&backend, "account-7", T0 + 100, false);
    assert!(m
        .import_receipt(backend.countersign(&older, T0 + 1500))
        .unwrap()
        .is_none());
    assert!(m.can_start("google_mobile_ads".into()));
    // Seen before it but dated after it: the two orders disagree, and the refusal restricts.
    let (_phone3, refusal) = remote(&backend, "account-7", T0 + 5000, false);
    assert!(m
        .import_receipt(backend.countersign(&refusal, T0 + 1600))
        .unwrap()
        .is_some());
    assert_eq!(m.status().last_source, Some(DecisionSource::ImportMerged));
    assert!(!m.can_start("google_mobile_ads".into()));
}

#[test]
fn decisions_that_cannot_be_ordered_keep_the_more_restrictive_choice_per_category() {
    let backend = Backend::new();
    let f = Fixture::new();
    let m = logged_in(&f, &backend, "account-7");
    // Here, not yet witnessed: statistics and marketing.
    m.save([(Category::Statistics, true), (Category::Marketing, true)].into())
        .unwrap();
    // There: statistics and personalization.
    let other = Fixture::new();
    let t = logged_in(&other, &backend, "account-7");
    t.save(
        [
            (Category::Statistics, true),
            (Category::Personalization, true),
        ]
        .into(),
    )
    .unwrap();
    let receipt = t.pending_receipts(1).unwrap().remove(0).receipt_json;
    assert!(m
        .import_receipt(backend.countersign(&receipt, T0 + 1000))
        .unwrap()
        .is_some());
    assert!(m.can_start("firebase_analytics".into()), "both granted it");
    assert!(!m.can_start("kmer_recommendations".into()));
    assert!(!m.can_start("google_mobile_ads".into()));
    assert_eq!(m.status().last_source, Some(DecisionSource::ImportMerged));
    // The combination goes to the back end, so the other devices learn the restriction.
    let pending = m.pending_receipts(10).unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending[1]
        .receipt_json
        .contains("\"type\":\"import_merged\""));
    kmer_consent::verify_receipt(&pending[1].receipt_json).unwrap();
}

#[test]
fn a_first_decision_can_come_from_another_device() {
    let backend = Backend::new();
    let f = Fixture::new();
    let m = logged_in(&f, &backend, "account-7");
    let (_tablet, receipt) = remote(&backend, "account-7", T0, true);
    assert!(m
        .import_receipt(backend.countersign(&receipt, T0 + 10))
        .unwrap()
        .is_some());
    assert!(m.can_start("google_mobile_ads".into()));
    assert!(m.verify_history().unwrap().intact);
}

#[test]
fn a_device_whose_clock_runs_ahead_cannot_stretch_a_consent() {
    let backend = Backend::new();
    let f = Fixture::new();
    let m = logged_in(&f, &backend, "account-7");
    // The tablet's clock reads 30 days ahead; the back end saw its decision now.
    let (_tablet, receipt) = remote(&backend, "account-7", T0 + 30 * DAY_MS, true);
    assert!(m
        .import_receipt(backend.countersign(&receipt, T0))
        .unwrap()
        .is_some());
    assert_eq!(
        m.status().decided_at_ms,
        Some(T0),
        "counted from when the back end saw it"
    );
    // Both the other device and the back end ahead of this device's clock (this one runs behind):
    // the decision would be dated in this device's future, so it is not imported now.
    let (_t2, receipt) = remote(&backend, "account-7", T0 + 2 * DAY_MS, false);
    assert!(matches!(
        m.import_receipt(backend.countersign(&receipt, T0 + 2 * DAY_MS)),
        Err(KmerConsentError::InvalidReceipt { .. })
    ));
}

#[test]
fn a_receipt_that_does_not_verify_or_is_not_ours_is_refused() {
    let backend = Backend::new();
    let (_tablet, receipt) = remote(&backend, "account-7", T0, true);
    let signed = backend.countersign(&receipt, T0 + 10);
    let f = Fixture::new();
    let m = f.open_witnessed(&backend);
    assert!(
        matches!(
            m.import_receipt(signed.clone()),
            Err(KmerConsentError::InvalidReceipt { .. })
        ),
        "not logged in"
    );
    m.set_subject(Some("someone-else".into())).unwrap();
    assert!(matches!(
        m.import_receipt(signed.clone()),
        Err(KmerConsentError::InvalidReceipt { .. })
    ));
    m.set_subject(Some("account-7".into())).unwrap();
    let refused = [
        signed.replace("\"marketing\":true", "\"marketing\":false"),
        receipt.clone(),
        Backend::new().countersign(&receipt, T0 + 10),
        "{}".into(),
    ];
    for bad in refused {
        assert!(matches!(
            m.import_receipt(bad),
            Err(KmerConsentError::InvalidReceipt { .. })
        ));
    }
    assert!(m.history().unwrap().is_empty(), "nothing recorded");
    // Without a back end key nothing is imported at all.
    drop(m);
    let m = f.open();
    m.set_subject(Some("account-7".into())).unwrap();
    assert!(matches!(
        m.import_receipt(signed),
        Err(KmerConsentError::BackendKey { .. })
    ));
}

#[test]
fn erasure_removes_the_subjects_history_witnesses_and_outbox_only() {
    let backend = Backend::new();
    let f = Fixture::new();
    let m = f.open_witnessed(&backend);
    m.reject_all().unwrap(); // the device
    m.set_subject(Some("leaving-user".into())).unwrap(); // adopts: 1 record
    m.accept_all().unwrap();
    backend.witness_all(&m, T0 + 100);
    m.withdraw().unwrap(); // theirs, still to send
    m.set_subject(None).unwrap();
    m.dismiss().unwrap(); // the device's, still to send
    m.set_subject(Some("leaving-user".into())).unwrap();
    let status = m.erase_subject().unwrap();
    assert_eq!(status.status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(m.history().unwrap().is_empty());
    assert!(!m.can_start("firebase_analytics".into()));
    let pending = m.pending_receipts(10).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "nothing of theirs left to send, the device's still there"
    );
    assert!(pending[0].receipt_json.contains("\"type\":\"dismiss\""));
    let check = m.verify_history().unwrap();
    assert!(check.intact, "the other chains still verify: {check:?}");
    assert_eq!(check.witnessed_records, 1, "the device's own witness stays");
    drop(m);

    let m = f.open_witnessed(&backend);
    m.set_subject(Some("leaving-user".into())).unwrap();
    assert_eq!(
        m.status().last_source,
        Some(DecisionSource::SubjectLink),
        "takes the device's refusal again"
    );
}

#[test]
fn the_account_given_to_open_decides_the_first_snapshot() {
    use kmer_consent::ConsentOptions;
    let f = Fixture::new();
    let db = f.db().display().to_string();
    let open = |account: Option<&str>| {
        ConsentManager::open(ConsentOptions {
            account_id: account.map(str::to_owned),
            ..ConsentOptions::new(db.clone(), common::sample_policy_json())
        })
    };
    // Someone on the device accepted everything, logged out.
    let device = open(None).unwrap();
    device.accept_all().unwrap();
    device.shutdown();

    // The account has no decision of its own, and a device grant is never adopted: asked, and
    // nothing optional runs, from the very first snapshot a platform layer can see.
    let mine = open(Some("account-7")).unwrap();
    let first = mine.snapshot();
    assert_eq!(first.status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(!first.status.categories[&Category::Marketing]);
    assert!(!mine.can_start("google_mobile_ads".into()));
    mine.reject_all().unwrap();
    mine.shutdown();

    let again = open(Some("account-7")).unwrap();
    assert_eq!(again.status().last_source, Some(DecisionSource::RejectAll));
    again.shutdown();
    assert!(
        open(None).unwrap().can_start("google_mobile_ads".into()),
        "the device's own decision"
    );

    match open(Some("")) {
        Err(KmerConsentError::InvalidSubject { .. }) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert_eq!(
        common::open_handles(&f.db()),
        0,
        "a failed open releases the store"
    );
}
