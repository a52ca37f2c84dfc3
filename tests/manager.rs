//! The exported manager: decisions, the rules in time, policy updates, locale, and the gate.

mod common;

use std::collections::HashMap;

use common::{policy_with, sample_policy_json, Fixture, T0};
use kmer_consent::{
    Category, ConsentManager, ConsentOptions, DecisionSource, KmerConsentError, PromptReason,
    TrackingAuthorization, Verdict, VerdictReason, DAY_MS,
};
use serde_json::json;

const OPTIONAL_SDKS: [&str; 4] = [
    "firebase_analytics",
    "kmer_recommendations",
    "google_mobile_ads",
    "meta_audience_network",
];

fn verdict(m: &ConsentManager, sdk: &str) -> Verdict {
    m.check(sdk.to_owned())
}

fn reason(m: &ConsentManager, sdk: &str) -> VerdictReason {
    verdict(m, sdk).reason
}

#[test]
fn before_any_decision_only_essential_runs() {
    let f = Fixture::new();
    let m = f.open();
    let status = m.status();
    assert!(status.needs_prompt);
    assert_eq!(status.prompt_reason, Some(PromptReason::NoDecision));
    assert_eq!(
        status.categories,
        HashMap::from([
            (Category::Essential, true),
            (Category::Statistics, false),
            (Category::Personalization, false),
            (Category::Marketing, false),
        ])
    );
    assert_eq!(status.decided_at_ms, None);
    assert_eq!(
        status.tracking_authorization,
        TrackingAuthorization::NotDetermined
    );
    assert_eq!(
        verdict(&m, "kmer_session"),
        Verdict {
            allowed: true,
            reason: VerdictReason::Essential
        }
    );
    for sdk in OPTIONAL_SDKS {
        assert_eq!(
            verdict(&m, sdk),
            Verdict {
                allowed: false,
                reason: VerdictReason::NoDecision
            }
        );
        assert!(!m.can_start(sdk.into()));
    }
    assert!(m.is_granted(Category::Essential));
    assert!(!m.is_granted(Category::Statistics));
}

#[test]
fn unknown_sdk_ids_fail_closed() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    m.set_tracking_authorization(TrackingAuthorization::Authorized)
        .unwrap();
    for id in [
        "",
        "unknown",
        "FIREBASE_ANALYTICS",
        "firebase_analytics ",
        "'; DROP TABLE decisions; --",
    ] {
        assert_eq!(reason(&m, id), VerdictReason::UnknownSdk, "{id:?}");
        assert!(!m.can_start(id.into()));
    }
}

#[test]
fn accept_all_grants_everything_but_tracking_waits_for_att() {
    let f = Fixture::new();
    let m = f.open();
    let status = m.accept_all().unwrap();
    assert!(!status.status.needs_prompt);
    assert_eq!(status.status.prompt_reason, None);
    assert!(status.status.categories.values().all(|g| *g));
    assert_eq!(status.status.expires_at_ms, Some(T0 + 390 * DAY_MS));
    assert_eq!(status.status.reprompt_at_ms, None);
    for sdk in [
        "firebase_analytics",
        "kmer_recommendations",
        "google_mobile_ads",
    ] {
        assert_eq!(reason(&m, sdk), VerdictReason::Granted);
    }
    assert_eq!(
        reason(&m, "meta_audience_network"),
        VerdictReason::TrackingNotAuthorized
    );

    m.set_tracking_authorization(TrackingAuthorization::Denied)
        .unwrap();
    assert!(!m.can_start("meta_audience_network".into()));
    m.set_tracking_authorization(TrackingAuthorization::Authorized)
        .unwrap();
    assert!(m.can_start("meta_audience_network".into()));
    assert_eq!(
        m.status().tracking_authorization,
        TrackingAuthorization::Authorized
    );
    m.set_tracking_authorization(TrackingAuthorization::NotApplicable)
        .unwrap();
    assert!(m.can_start("meta_audience_network".into()));
}

#[test]
fn every_refusing_action_refuses_and_records_its_source() {
    for (action, source) in [
        (
            ConsentManager::reject_all as fn(&ConsentManager) -> _,
            DecisionSource::RejectAll,
        ),
        (ConsentManager::dismiss, DecisionSource::Dismiss),
        (ConsentManager::withdraw, DecisionSource::Withdraw),
    ] {
        let f = Fixture::new();
        let m = f.open();
        m.accept_all().unwrap();
        f.clock.advance_ms(1000);
        let status = action(&m).unwrap();
        assert_eq!(status.status.last_source, Some(source));
        assert!(!status.status.needs_prompt, "{source:?} is an answer");
        assert_eq!(status.status.reprompt_at_ms, Some(T0 + 1000 + 180 * DAY_MS));
        for sdk in OPTIONAL_SDKS {
            assert_eq!(reason(&m, sdk), VerdictReason::Refused, "{source:?} {sdk}");
        }
        assert!(m.can_start("kmer_session".into()));
        let history = m.history().unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].source, source);
        assert_eq!(history[1].decided_at_ms, T0 + 1000);
    }
}

#[test]
fn save_records_a_custom_choice() {
    let f = Fixture::new();
    let m = f.open();
    let status = m
        .save(HashMap::from([
            (Category::Essential, true),
            (Category::Statistics, true),
            (Category::Marketing, false),
        ]))
        .unwrap();
    assert!(status.status.categories[&Category::Statistics]);
    assert!(
        !status.status.categories[&Category::Personalization],
        "left out = refused"
    );
    assert!(!status.status.categories[&Category::Marketing]);
    assert_eq!(status.status.last_source, Some(DecisionSource::Save));
    assert!(m.can_start("firebase_analytics".into()));
    assert_eq!(reason(&m, "kmer_recommendations"), VerdictReason::Refused);
    assert!(m.is_granted(Category::Statistics));
    assert!(!m.is_granted(Category::Personalization));
}

#[test]
fn refusing_essential_is_an_error_and_records_nothing() {
    let f = Fixture::new();
    let m = f.open();
    let result = m.save(HashMap::from([
        (Category::Essential, false),
        (Category::Statistics, true),
    ]));
    assert_eq!(result, Err(KmerConsentError::EssentialCannotBeRefused));
    assert!(m.history().unwrap().is_empty());
    assert_eq!(m.status().prompt_reason, Some(PromptReason::NoDecision));
}

#[test]
fn a_decision_records_what_the_user_saw() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    let record = &m.history().unwrap()[0];
    assert_eq!(record.policy_id, "kmeroccase");
    assert_eq!(record.policy_revision, 1);
    assert_eq!(record.locale, "fr", "opened with fr-CM");
    assert_eq!(record.decided_at_ms, T0);
    assert_eq!(record.sdks_shown.len(), 5);
    assert!(record
        .sdks_shown
        .contains(&"meta_audience_network".to_owned()));
    assert!(record.categories[&Category::Marketing]);

    assert_eq!(m.set_locale("en-US".into()).unwrap(), "en");
    m.reject_all().unwrap();
    assert_eq!(m.history().unwrap()[1].locale, "en");
}

#[test]
fn expiry_denies_at_once_and_asks_again() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    f.clock.advance_days(389);
    assert!(m.can_start("firebase_analytics".into()));
    f.clock.advance_days(1);
    // The gate answers from the snapshot it already has: no refresh needed to deny.
    assert_eq!(
        verdict(&m, "firebase_analytics"),
        Verdict {
            allowed: false,
            reason: VerdictReason::Expired
        }
    );
    assert!(!m.is_granted(Category::Statistics));
    assert!(m.can_start("kmer_session".into()));
    let status = m.status();
    assert!(status.needs_prompt);
    assert_eq!(status.prompt_reason, Some(PromptReason::Expired));
    assert!(!status.categories[&Category::Statistics]);
    // After status() recomputed, the snapshot itself says expired.
    assert_eq!(
        m.snapshot().sdks["firebase_analytics"].reason,
        VerdictReason::Expired
    );
}

#[test]
fn a_refusal_is_reminded_after_the_policy_delay() {
    let f = Fixture::new();
    let m = f.open();
    m.reject_all().unwrap();
    f.clock.advance_days(179);
    assert!(!m.status().needs_prompt);
    f.clock.advance_days(1);
    let status = m.status();
    assert_eq!(status.prompt_reason, Some(PromptReason::RefusalReminder));
    assert_eq!(reason(&m, "firebase_analytics"), VerdictReason::Refused);
    // Answering again clears the reminder.
    let status = m.reject_all().unwrap();
    assert!(!status.status.needs_prompt);
}

#[test]
fn moving_the_clock_back_never_revives_an_expired_decision() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    f.clock.advance_days(400);
    assert_eq!(m.status().prompt_reason, Some(PromptReason::Expired));

    f.clock.set(T0 + 10 * DAY_MS);
    assert_eq!(m.status().prompt_reason, Some(PromptReason::Expired));
    assert!(!m.can_start("firebase_analytics".into()));
    drop(m);

    // Nor does a restart with the clock still wrong.
    let m = f.open();
    assert_eq!(m.status().prompt_reason, Some(PromptReason::Expired));
    assert!(!m.can_start("firebase_analytics".into()));

    // A new decision made while the clock is behind is dated by the clock, as it reads now.
    let status = m.accept_all().unwrap();
    assert_eq!(status.status.decided_at_ms, Some(T0 + 10 * DAY_MS));
    assert!(m.can_start("firebase_analytics".into()));
}

#[test]
fn moving_the_clock_back_before_a_decision_asks_again() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    // A clock step (a network time correction) keeps it.
    f.clock.set(T0 - 30 * 60_000);
    assert!(m.can_start("firebase_analytics".into()));
    assert!(!m.status().needs_prompt);
    // A month back: the decision is dated after the clock, and does not count.
    f.clock.set(T0 - 30 * DAY_MS);
    assert!(!m.can_start("firebase_analytics".into()));
    assert_eq!(
        m.status().prompt_reason,
        Some(PromptReason::DecisionInTheFuture)
    );
    // Nor later, once seen: its date cannot be believed, and a restart does not forget it.
    f.clock.set(T0 + DAY_MS);
    assert!(!m.can_start("firebase_analytics".into()));
    assert!(m.refresh().unwrap().status.needs_prompt);
    drop(m);
    let m = f.open();
    assert!(!m.can_start("firebase_analytics".into()));
    assert_eq!(m.status().prompt_reason, Some(PromptReason::Expired));
}

#[test]
fn a_new_policy_revision_asks_again_and_gates_new_sdks() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    let v2 = policy_with(|p| {
        p["revision"] = json!(2);
        let mut sdk = p["sdks"][1].clone();
        sdk["id"] = json!("new_analytics");
        p["sdks"].as_array_mut().unwrap().push(sdk);
    });
    let status = m.update_policy(v2.clone()).unwrap();
    assert_eq!(
        status.status.prompt_reason,
        Some(PromptReason::PolicyChanged)
    );
    assert_eq!(status.status.policy_revision, 2);
    assert_eq!(status.status.decided_policy_revision, Some(1));
    assert!(
        m.can_start("firebase_analytics".into()),
        "still covered by what the user saw"
    );
    assert_eq!(reason(&m, "new_analytics"), VerdictReason::NotShownToUser);

    // The app restarts with the new policy: same answers.
    drop(m);
    let m = f.open_with(&v2);
    assert_eq!(m.status().prompt_reason, Some(PromptReason::PolicyChanged));
    assert_eq!(reason(&m, "new_analytics"), VerdictReason::NotShownToUser);

    // Deciding again under revision 2 covers the new SDK.
    m.accept_all().unwrap();
    assert!(!m.status().needs_prompt);
    assert!(m.can_start("new_analytics".into()));
}

#[test]
fn a_policy_update_must_be_the_same_policy_and_an_older_one_grants_nothing() {
    let f = Fixture::new();
    let m = f.open_with(&policy_with(|p| p["revision"] = json!(3)));
    m.accept_all().unwrap();
    let before = m.snapshot();

    let other = policy_with(|p| {
        p["id"] = json!("another_app");
        p["revision"] = json!(4);
    });
    assert!(matches!(
        m.update_policy(other),
        Err(KmerConsentError::PolicyUpdateRefused { .. })
    ));
    let invalid = policy_with(|p| p["sdks"][0]["category"] = json!("nope"));
    match m.update_policy(invalid) {
        Err(KmerConsentError::InvalidPolicy { path, .. }) => assert_eq!(path, "sdks[0].category"),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.snapshot(), before, "nothing changed");

    // An older revision is taken, as `open` takes it, and the decision made on revision 3 does not
    // count for it: the user is asked again.
    let status = m
        .update_policy(policy_with(|p| p["revision"] = json!(2)))
        .unwrap();
    assert_eq!(
        status.status.prompt_reason,
        Some(PromptReason::PolicyRolledBack)
    );
    assert!(!m.can_start("firebase_analytics".into()));
    assert_eq!(
        reason(&m, "google_mobile_ads"),
        VerdictReason::PolicyMismatch
    );
    // Back on revision 3, the decision made on it counts again.
    m.update_policy(policy_with(|p| p["revision"] = json!(3)))
        .unwrap();
    assert!(m.can_start("firebase_analytics".into()));
}

#[test]
fn opening_with_another_policy_id_is_no_decision() {
    let f = Fixture::new();
    f.open().accept_all().unwrap();
    let m = f.open_with(&policy_with(|p| p["id"] = json!("other_app")));
    assert_eq!(m.status().prompt_reason, Some(PromptReason::NoDecision));
    assert!(!m.can_start("firebase_analytics".into()));
}

#[test]
fn locales_are_negotiated() {
    let f = Fixture::new();
    let m = f.open();
    for (asked, got) in [
        ("fr-CM", "fr"),
        ("fr_FR", "fr"),
        ("en-CM", "en"),
        ("en_US", "en"),
        ("EN", "en"),
        ("de-DE", "fr"),
        ("", "fr"),
        ("zz-\u{0}", "fr"),
    ] {
        assert_eq!(m.banner(asked.into()).unwrap().locale, got, "{asked:?}");
    }
}

#[test]
fn the_banner_lists_categories_sdks_and_current_choices() {
    let f = Fixture::new();
    let m = f.open();
    let en = m.banner("en-GB".into()).unwrap();
    assert!(
        m.history().unwrap().is_empty(),
        "showing the banner records nothing"
    );
    assert_eq!(m.status().prompt_reason, Some(PromptReason::NoDecision));
    assert_eq!(en.reject_all, "Reject all");
    assert_eq!(en.accept_all, "Accept all");
    assert_eq!(en.policy_url, "https://kmeroccase.com/cookies");
    let fr = m.banner("fr".into()).unwrap();
    assert_eq!(fr.reject_all, "Tout refuser");
    assert_eq!(
        fr.categories.iter().map(|c| c.category).collect::<Vec<_>>(),
        Category::ALL.to_vec()
    );
    assert!(fr.categories[0].always_on && fr.categories[0].granted);
    assert!(
        fr.categories[1..]
            .iter()
            .all(|c| !c.always_on && !c.granted),
        "off until granted"
    );
    let marketing = &fr.categories[3];
    assert_eq!(marketing.title, "Marketing");
    let ids: Vec<_> = marketing.sdks.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["google_mobile_ads", "meta_audience_network"]);
    assert!(marketing.sdks[1].requires_tracking_authorization);

    m.save(HashMap::from([(Category::Personalization, true)]))
        .unwrap();
    let fr = m.banner("fr".into()).unwrap();
    assert!(fr.categories[2].granted);
    assert!(!fr.categories[1].granted);
}

#[test]
fn refresh_sees_another_process_decision() {
    let f = Fixture::new();
    let a = f.open();
    let b = f.open();
    a.accept_all().unwrap();
    assert!(
        !b.can_start("firebase_analytics".into()),
        "b has not looked yet"
    );
    let status = b.refresh().unwrap();
    assert_eq!(status.status.last_source, Some(DecisionSource::AcceptAll));
    assert!(b.can_start("firebase_analytics".into()));
}

#[test]
fn refresh_if_changed_notices_another_process_and_nothing_else() {
    let f = Fixture::new();
    let a = f.open();
    let b = f.open();
    assert!(
        b.refresh_if_changed().unwrap().is_none(),
        "nothing written yet"
    );
    b.reject_all().unwrap();
    assert!(
        b.refresh_if_changed().unwrap().is_none(),
        "its own write is not another process's"
    );
    a.accept_all().unwrap();
    assert!(!b.can_start("firebase_analytics".into()));
    assert!(b.refresh_if_changed().unwrap().is_some());
    assert!(b.can_start("firebase_analytics".into()));
    assert!(b.refresh_if_changed().unwrap().is_none(), "once");
}

#[test]
fn the_snapshot_sequence_increases_with_each_change() {
    let f = Fixture::new();
    let m = f.open();
    let s1 = m.snapshot().sequence;
    m.accept_all().unwrap();
    let s2 = m.snapshot().sequence;
    assert!(s2 > s1);
    // Nothing changed: no new snapshot.
    m.refresh().unwrap();
    assert_eq!(m.snapshot().sequence, s2);
    m.set_tracking_authorization(TrackingAuthorization::Authorized)
        .unwrap();
    assert!(m.snapshot().sequence > s2);
    assert_eq!(m.snapshot().sdks.len(), 5);
}

#[test]
fn the_ffi_constructor_reports_bad_input_as_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db").display().to_string();
    match ConsentManager::open(ConsentOptions::new(db.clone(), "not json")) {
        Err(KmerConsentError::InvalidPolicy { path, reason }) => {
            assert_eq!(path, "");
            assert!(reason.contains("line 1 column 2"), "{reason}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let m = ConsentManager::open(ConsentOptions {
        locale: "en".into(),
        app_version: "5.2.0".into(),
        tracking_authorization: Some(TrackingAuthorization::Denied),
        ..ConsentOptions::new(db, sample_policy_json())
    })
    .unwrap();
    assert_eq!(m.status().locale, "en");
    assert_eq!(
        m.status().tracking_authorization,
        TrackingAuthorization::Denied
    );
    assert_eq!(
        m.snapshot().sequence,
        1,
        "the options apply before the first snapshot: nothing is republished"
    );
}

#[test]
fn a_snapshot_says_when_time_alone_will_change_it() {
    let f = Fixture::new();
    let m = f.open();
    assert_eq!(
        m.snapshot().stale_after_ms,
        None,
        "no decision: nothing to expire"
    );
    m.reject_all().unwrap();
    assert_eq!(
        m.snapshot().stale_after_ms,
        Some(T0 + 180 * DAY_MS),
        "the reminder"
    );
    f.clock.advance_days(180);
    let after_reminder = m.snapshot();
    assert_eq!(
        after_reminder.status.prompt_reason,
        Some(PromptReason::RefusalReminder)
    );
    assert_eq!(
        after_reminder.stale_after_ms,
        Some(T0 + 390 * DAY_MS),
        "then the expiry"
    );
    m.accept_all().unwrap();
    assert_eq!(m.snapshot().stale_after_ms, Some(T0 + 570 * DAY_MS));
}
