//! Profiles, the outbox, imports from other devices, and erasure.

mod common;

use common::{Fixture, T0};
use kmer_consent::{Category, ConsentError, DecisionSource, PromptReason, DAY_MS};

#[test]
fn a_user_logging_in_adopts_the_device_decision_and_logging_out_returns_to_it() {
    let f = Fixture::new();
    let m = f.open();
    m.save([(Category::Statistics, true)].into()).unwrap();
    f.clock.advance_ms(5_000);

    let status = m.set_subject(Some("account-42".into())).unwrap();
    assert!(!status.needs_prompt, "not asked twice");
    assert_eq!(status.last_source, Some(DecisionSource::SubjectLink));
    assert_eq!(
        status.decided_at_ms,
        Some(T0),
        "adopting does not extend the decision's age"
    );
    assert!(m.can_start("firebase_analytics".into()));
    let mine = m.history().unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].subject, "account-42");

    // The user changes their mind while logged in; the device keeps its own decision.
    m.reject_all().unwrap();
    assert!(!m.can_start("firebase_analytics".into()));
    m.set_subject(None).unwrap();
    assert!(
        m.can_start("firebase_analytics".into()),
        "back to the device's decision"
    );
    assert_eq!(m.history().unwrap().len(), 1);

    // Logging in again finds the user's own decision.
    m.set_subject(Some("account-42".into())).unwrap();
    assert!(!m.can_start("firebase_analytics".into()));
    assert_eq!(m.status().last_source, Some(DecisionSource::RejectAll));
    assert!(m.verify_history().unwrap().intact);
}

#[test]
fn a_user_with_no_decision_on_a_device_without_one_is_asked() {
    let f = Fixture::new();
    let m = f.open();
    let status = m.set_subject(Some("new-user".into())).unwrap();
    assert_eq!(status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(m.history().unwrap().is_empty());
    assert!(matches!(
        m.set_subject(Some(String::new())),
        Err(ConsentError::InvalidSubject { .. })
    ));
    assert!(matches!(
        m.set_subject(Some("x".repeat(513))),
        Err(ConsentError::InvalidSubject { .. })
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

/// A receipt for `user` recorded on another device at `at`.
fn remote_receipt(user: &str, at: i64, accept: bool) -> String {
    let other = Fixture::new();
    other.clock.set(at);
    let m = other.open();
    m.set_subject(Some(user.into())).unwrap();
    if accept {
        m.accept_all().unwrap();
    } else {
        m.reject_all().unwrap();
    }
    m.export_proof().unwrap()
}

#[test]
fn a_newer_decision_from_another_device_is_imported_once() {
    let f = Fixture::new();
    let m = f.open();
    m.set_subject(Some("account-7".into())).unwrap();
    m.reject_all().unwrap();

    let newer = remote_receipt("account-7", T0 + DAY_MS, true);
    assert!(m.import_receipt(newer.clone()).unwrap());
    let status = m.status();
    assert_eq!(status.last_source, Some(DecisionSource::Import));
    assert_eq!(
        status.decided_at_ms,
        Some(T0 + DAY_MS),
        "the other device's time"
    );
    assert!(m.can_start("google_mobile_ads".into()));
    assert!(!m.import_receipt(newer).unwrap(), "never imported twice");
    assert_eq!(m.history().unwrap().len(), 2);
    assert!(m.verify_history().unwrap().intact);
    // Imports came from the back end: they are not sent back.
    assert_eq!(m.pending_receipts(10).unwrap().len(), 1);

    let older = remote_receipt("account-7", T0 - DAY_MS, false);
    assert!(
        !m.import_receipt(older).unwrap(),
        "older than the local decision"
    );
    assert!(m.can_start("google_mobile_ads".into()));
}

#[test]
fn a_first_decision_can_come_from_another_device() {
    let f = Fixture::new();
    let m = f.open();
    m.set_subject(Some("account-7".into())).unwrap();
    assert!(m
        .import_receipt(remote_receipt("account-7", T0, true))
        .unwrap());
    assert!(m.can_start("google_mobile_ads".into()));
    assert!(
        m.verify_history().unwrap().intact,
        "the same policy text is stored here too"
    );
}

#[test]
fn a_receipt_from_a_device_whose_clock_runs_ahead_is_refused() {
    let f = Fixture::new();
    let m = f.open();
    m.set_subject(Some("account-7".into())).unwrap();
    let future = remote_receipt("account-7", T0 + 30 * DAY_MS, true);
    assert!(matches!(
        m.import_receipt(future),
        Err(ConsentError::InvalidReceipt { .. })
    ));
    // A little skew is fine, and it does not move this device's clock.
    assert!(m
        .import_receipt(remote_receipt("account-7", T0 + DAY_MS / 2, true))
        .unwrap());
    m.reject_all().unwrap();
    assert_eq!(
        m.status().decided_at_ms,
        Some(T0),
        "recorded at this device's time"
    );
}

#[test]
fn a_receipt_that_does_not_verify_or_is_not_ours_is_refused() {
    let f = Fixture::new();
    let m = f.open();
    let receipt = remote_receipt("account-7", T0 + DAY_MS, true);
    assert!(
        matches!(
            m.import_receipt(receipt.clone()),
            Err(ConsentError::InvalidReceipt { .. })
        ),
        "not logged in"
    );
    m.set_subject(Some("someone-else".into())).unwrap();
    assert!(matches!(
        m.import_receipt(receipt.clone()),
        Err(ConsentError::InvalidReceipt { .. })
    ));
    m.set_subject(Some("account-7".into())).unwrap();
    let forged = receipt.replace("\"marketing\":true", "\"marketing\":false");
    assert!(matches!(
        m.import_receipt(forged),
        Err(ConsentError::InvalidReceipt { .. })
    ));
    assert!(matches!(
        m.import_receipt("{}".into()),
        Err(ConsentError::InvalidReceipt { .. })
    ));
    assert!(m.history().unwrap().is_empty(), "nothing recorded");
}

#[test]
fn erasure_removes_the_subjects_history_and_outbox_only() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap(); // the device
    m.set_subject(Some("leaving-user".into())).unwrap(); // adopts: 1 record
    m.reject_all().unwrap();
    let status = m.erase_subject().unwrap();
    assert_eq!(status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(m.history().unwrap().is_empty());
    assert!(!m.can_start("firebase_analytics".into()));
    let pending = m.pending_receipts(10).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "only the device's decision is left to send"
    );
    assert!(
        m.verify_history().unwrap().intact,
        "the other chains still verify"
    );
    drop(m);

    let m = f.open();
    m.set_subject(Some("leaving-user".into())).unwrap();
    assert_eq!(
        m.status().last_source,
        Some(DecisionSource::SubjectLink),
        "adopts the device again"
    );
    m.set_subject(None).unwrap();
    assert!(
        m.can_start("firebase_analytics".into()),
        "the device's decision is untouched"
    );
}
