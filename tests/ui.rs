//! The consent page through the manager: each path records the intended decision with its source,
//! and a malformed or forged message records nothing.

mod common;

use common::{policy_with, token_of, Fixture, T0};
use kmer_consent::{ConsentPageLayer, DecisionSource, KmerConsentError, DAY_MS};

fn message(token: &str, action: &str, choices: Option<&str>) -> String {
    common::page_message(token, action, choices)
}

#[test]
fn each_action_records_its_decision_and_source() {
    let f = Fixture::new();
    let m = f.open();
    let cases = [
        (
            "accept_all",
            None,
            DecisionSource::PageAcceptAll,
            [true, true, true],
        ),
        (
            "reject_all",
            None,
            DecisionSource::PageRejectAll,
            [false, false, false],
        ),
        (
            "dismiss",
            None,
            DecisionSource::PageDismiss,
            [false, false, false],
        ),
        (
            "save",
            Some(r#"{"statistics":true,"personalization":false,"marketing":true}"#),
            DecisionSource::PageSave,
            [true, false, true],
        ),
    ];
    for (i, (action, choices, source, [statistics, personalization, marketing])) in
        cases.into_iter().enumerate()
    {
        let page = m
            .consent_page("fr-CM".into(), ConsentPageLayer::Banner)
            .unwrap();
        let status = m
            .apply_ui_message(message(&token_of(&page), action, choices))
            .expect(action)
            .expect("a decision is recorded");
        assert_eq!(status.status.last_source, Some(source), "{action}");
        assert!(!status.status.needs_prompt, "{action}");
        assert_eq!(
            m.can_start("firebase_analytics".into()),
            statistics,
            "{action}"
        );
        assert_eq!(
            m.can_start("kmer_recommendations".into()),
            personalization,
            "{action}"
        );
        assert_eq!(
            m.can_start("google_mobile_ads".into()),
            marketing,
            "{action}"
        );
        assert_eq!(m.history().unwrap().len(), i + 1, "one record per action");
        assert_eq!(m.history().unwrap()[i].source, source);
    }
    assert!(
        m.verify_history().unwrap().intact,
        "the page's decisions are in the hash chain"
    );
}

#[test]
fn the_decision_records_the_language_the_page_was_shown_in() {
    let f = Fixture::new();
    let m = f.open(); // device locale fr-CM
    let page = m
        .consent_page("en-GB".into(), ConsentPageLayer::Banner)
        .unwrap();
    assert!(page.contains("<html lang=\"en\">"));
    m.apply_ui_message(message(&token_of(&page), "reject_all", None))
        .unwrap();
    assert_eq!(m.history().unwrap()[0].locale, "en");
    // A token whose locale was changed no longer verifies.
    let page = m
        .consent_page("en".into(), ConsentPageLayer::Banner)
        .unwrap();
    let changed = token_of(&page).replace(".en.", ".fr.");
    assert!(m
        .apply_ui_message(message(&changed, "accept_all", None))
        .is_err());
}

#[test]
fn a_page_offers_only_its_own_ways_out() {
    // "Continue without accepting" is on the banner; "close" on the preferences shown alone.
    let f = Fixture::new();
    let m = f.open();
    let settings = token_of(
        &m.consent_page("fr".into(), ConsentPageLayer::Preferences)
            .unwrap(),
    );
    let banner = token_of(
        &m.consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap(),
    );
    for (token, action) in [(&settings, "dismiss"), (&banner, "close")] {
        match m.apply_ui_message(message(token, action, None)) {
            Err(KmerConsentError::InvalidUiMessage { reason }) => {
                assert!(reason.contains("not on the page"), "{reason}")
            }
            other => panic!("{action}: {other:?}"),
        }
    }
    assert!(m.history().unwrap().is_empty());
    // Both layers offer accept, reject and save; each page answers once.
    assert!(m
        .apply_ui_message(message(&settings, "reject_all", None))
        .is_ok());
    assert!(
        m.apply_ui_message(message(&banner, "accept_all", None))
            .is_err(),
        "rendered before the decision just recorded"
    );
    let banner = token_of(
        &m.consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap(),
    );
    assert!(m
        .apply_ui_message(message(&banner, "accept_all", None))
        .is_ok());
    assert_eq!(m.history().unwrap().len(), 2);
}

#[test]
fn closing_the_preferences_records_nothing() {
    let f = Fixture::new();
    let m = f.open();
    let page = m
        .consent_page("en".into(), ConsentPageLayer::Preferences)
        .unwrap();
    let recorded = m
        .apply_ui_message(message(&token_of(&page), "close", None))
        .unwrap();
    assert_eq!(recorded, None, "the core says nothing was recorded");
    assert!(m.status().needs_prompt);
    assert!(m.history().unwrap().is_empty());
}

#[test]
fn forged_malformed_and_stale_messages_record_nothing() {
    let f = Fixture::new();
    let m = f.open();
    let page = m
        .consent_page("fr".into(), ConsentPageLayer::Banner)
        .unwrap();
    let token = token_of(&page);
    // A page of another store of the same app, with the same policy.
    let other = Fixture::new();
    let other_page = other
        .open()
        .consent_page("fr".into(), ConsentPageLayer::Banner)
        .unwrap();
    let forged_tag = format!("{}.fr.banner.{}", T0, "0".repeat(32));
    let refused = [
        message(&token_of(&other_page), "accept_all", None),
        message(&forged_tag, "accept_all", None),
        message("", "accept_all", None),
        message(&token, "accept_everything", None),
        message(&token, "save", Some(r#"{"statistics":true}"#)),
        message(
            &token,
            "save",
            Some(r#"{"statistics":1,"personalization":0,"marketing":0}"#),
        ),
        message(&token, "accept_all", None)
            .replace("\"version\":1", "\"version\":1,\"admin\":true"),
        format!(
            "{}{}",
            message(&token, "accept_all", None),
            " ".repeat(2000)
        ),
        "{\"type\":\"kmer-consent/ui\"".into(),
        "\u{0}".into(),
    ];
    for bad in refused {
        match m.apply_ui_message(bad.clone()) {
            Err(KmerConsentError::InvalidUiMessage { reason }) => assert!(!reason.is_empty()),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    assert!(m.history().unwrap().is_empty(), "nothing was recorded");
    assert!(!m.can_start("google_mobile_ads".into()));

    // A page rendered more than a day ago, or for an older revision of the policy, is refused too.
    f.clock.advance_ms(DAY_MS + 1);
    assert!(matches!(
        m.apply_ui_message(message(&token, "accept_all", None)),
        Err(KmerConsentError::InvalidUiMessage { .. })
    ));
    let fresh = token_of(
        &m.consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap(),
    );
    m.update_policy(policy_with(|p| {
        p["revision"] = (p["revision"].as_u64().unwrap() + 1).into()
    }))
    .unwrap();
    assert!(matches!(
        m.apply_ui_message(message(&fresh, "accept_all", None)),
        Err(KmerConsentError::InvalidUiMessage { .. })
    ));
    assert!(m.history().unwrap().is_empty());
    let current = token_of(
        &m.consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap(),
    );
    assert!(m
        .apply_ui_message(message(&current, "accept_all", None))
        .is_ok());
}

#[test]
fn a_token_survives_a_restart_of_the_same_store() {
    // The page may be answered by another process or after the app restarted (the CLI does both).
    let f = Fixture::new();
    let token = token_of(
        &f.open()
            .consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap(),
    );
    let reopened = f.open();
    assert!(reopened
        .apply_ui_message(message(&token, "reject_all", None))
        .is_ok());
}

#[test]
fn the_page_shows_what_is_granted_now() {
    let f = Fixture::new();
    let m = f.open();
    m.save([(kmer_consent::Category::Marketing, true)].into())
        .unwrap();
    let page = m
        .consent_page("fr".into(), ConsentPageLayer::Preferences)
        .unwrap();
    assert!(page.contains("data-category=\"marketing\" aria-describedby=\"d-marketing\" checked>"));
    assert!(page.contains("data-category=\"statistics\" aria-describedby=\"d-statistics\">"));
}
