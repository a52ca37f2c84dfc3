//! Every exported function, called with hostile arguments: typed errors or fail-closed answers,
//! never a panic, and nothing recorded by a refused call.

mod common;

use std::sync::Arc;

use common::{policy_with, sample_policy_json, Fixture};
use kmer_consent::{
    Category, ConsentManager, ConsentOptions, KmerConsentError, OpenOptions, SdkLifecycle,
    TrackingAuthorization,
};
use serde_json::json;

struct Nothing;
impl SdkLifecycle for Nothing {
    fn start(&self) {}
    fn stop(&self) {}
}

fn hostile_strings() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "\0".into(),
        "firebase_analytics\0".into(),
        "'; DROP TABLE decisions; --".into(),
        "../../etc/passwd".into(),
        "\u{202e}gnp.exe".into(),
        "é".repeat(10_000),
        "x".repeat(1 << 20),
        "{\"json\": true}".into(),
        "%s%n%x".into(),
        "\u{FFFF}\u{10FFFF}".into(),
    ]
}

#[test]
fn the_gate_and_readers_fail_closed_on_hostile_ids_and_locales() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    for s in hostile_strings() {
        assert!(!m.can_start(s.clone()));
        assert!(!m.check(s.clone()).allowed);
        let banner = m.banner(s.clone()).unwrap();
        assert_eq!(banner.locale, "fr", "falls back to the default locale");
        let page = m
            .consent_page(s.clone(), kmer_consent::ConsentPageLayer::Banner)
            .unwrap();
        assert!(page.starts_with("<!doctype html>\n<html lang=\"fr\">"));
        assert!(matches!(
            m.register_sdk(s.clone(), Arc::new(Nothing)),
            Err(KmerConsentError::UnknownSdk { .. })
        ));
    }
    // set_locale with garbage negotiates to the default and records nothing.
    for s in hostile_strings() {
        assert_eq!(m.set_locale(s).unwrap(), "fr");
    }
    assert_eq!(m.history().unwrap().len(), 1);
}

#[test]
fn hostile_writes_are_refused_and_record_nothing() {
    let f = Fixture::new();
    let m = f.open_witnessed(&common::Backend::new());
    m.reject_all().unwrap();
    let before = m.snapshot();
    for s in hostile_strings() {
        assert!(matches!(
            m.update_policy(s.clone()),
            Err(KmerConsentError::InvalidPolicy { .. })
        ));
        assert!(matches!(
            m.import_receipt(s.clone()),
            Err(KmerConsentError::InvalidReceipt { .. })
        ));
        assert!(matches!(
            m.apply_ui_message(s.clone()),
            Err(KmerConsentError::InvalidUiMessage { .. })
        ));
        assert!(matches!(
            m.acknowledge_signed(s.clone()),
            Err(KmerConsentError::InvalidAcknowledgement { .. })
        ));
    }
    assert!(matches!(
        m.save([(Category::Essential, false)].into()),
        Err(KmerConsentError::EssentialCannotBeRefused)
    ));
    assert!(m.set_subject(Some("x".repeat(1 << 20))).is_err());
    assert!(m.set_subject(Some(String::new())).is_err());
    m.acknowledge(vec![i64::MIN, -1, 0, i64::MAX]).unwrap();
    assert_eq!(m.pending_receipts(u32::MAX).unwrap().len(), 1);
    assert_eq!(m.snapshot(), before);
    assert_eq!(m.history().unwrap().len(), 1);
    // Odd but valid subjects are just ids: stored as given, kept apart.
    for s in ["'; DROP TABLE decisions; --", "\0", "é"] {
        m.set_subject(Some(s.into())).unwrap();
        m.accept_all().unwrap();
        assert_eq!(m.history().unwrap()[0].subject, s);
    }
    assert!(m.verify_history().unwrap().intact);
    m.set_tracking_authorization(TrackingAuthorization::Restricted)
        .unwrap();
}

#[test]
fn hostile_paths_and_policies_at_open_are_typed_errors() {
    let f = Fixture::new();
    for path in [
        "",
        "\0",
        "/proc/self/mem/consent.db",
        "/dev/null/consent.db",
    ] {
        let result = ConsentManager::open(ConsentOptions {
            locale: "fr".into(),
            ..ConsentOptions::new(path, sample_policy_json())
        });
        assert!(
            matches!(result, Err(KmerConsentError::Storage { .. })),
            "{path:?}: {:?}",
            result.map(|_| ())
        );
    }
    // Refused by its size, before any parsing: the reason is the size check's, not a parse error
    // (which would name a JSON path). A clock here measured the machine's load, not the check: the
    // 100 MB string's own construction once took 2 s under CI.
    let huge = format!("{{\"id\": \"{}\"}}", "a".repeat(100 << 20)); // 100 MB
    let result = ConsentManager::open_with(&f.db(), &huge, "fr", OpenOptions::default());
    match result.map_err(KmerConsentError::from) {
        Err(KmerConsentError::InvalidPolicy { path, reason }) => {
            assert_eq!(path, "");
            assert_eq!(
                reason,
                format!(
                    "the policy is {} bytes, more than the {} allowed",
                    huge.len(),
                    kmer_consent::MAX_POLICY_BYTES
                )
            );
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert!(!f.db().exists());

    let control = policy_with(|p| p["texts"]["fr"]["title"] = json!("\u{0007}\u{0000}bell"));
    // Control characters in texts are just text (the banner escapes them); in ids they are refused.
    ConsentManager::open_with(&f.db(), &control, "fr", f.options()).unwrap();
    let sql_id = policy_with(|p| p["sdks"][1]["id"] = json!("x'); DROP TABLE decisions; --"));
    assert!(kmer_consent::Policy::parse(&sql_id).unwrap_err().path == "sdks[1].id");

    let many = policy_with(|p| {
        let template = p["sdks"][1].clone();
        p["sdks"] = json!((0..100_000)
            .map(|i| {
                let mut sdk = template.clone();
                sdk["id"] = json!(format!("sdk_{i}"));
                sdk
            })
            .collect::<Vec<_>>());
    });
    let error = kmer_consent::Policy::parse(&many).unwrap_err();
    assert!(
        error.message.starts_with("the policy is ") && error.message.contains("bytes, more than"),
        "{error}"
    );
}
