//! The rules as pure functions: a policy, a decision and a time in, a verdict out. No database.

use super::time::{TimeMarks, CLOCK_STEP_TOLERANCE_MS, TRUSTED_UNTIL_MS};
use super::*;
use crate::category::Grants;
use crate::clock::DAY_MS;
use crate::policy::PolicyText;
use crate::record::{Decision, DecisionSource};

const T0: i64 = 1_780_000_000_000; // 2026-05-28

pub(crate) fn sample_text() -> PolicyText {
    PolicyText::parse(include_str!("../../policies/kmeroccase.json")).expect("sample policy")
}

/// The sample policy with `edit` applied to its JSON.
pub(crate) fn text_with(edit: impl FnOnce(&mut serde_json::Value)) -> PolicyText {
    let mut value: serde_json::Value =
        serde_json::from_str(include_str!("../../policies/kmeroccase.json")).expect("JSON");
    edit(&mut value);
    PolicyText::parse(&value.to_string()).expect("the edited policy is valid")
}

/// A decision on `text` at T0.
pub(crate) fn decision_on(text: &PolicyText, grants: Grants) -> Decision {
    Decision {
        id: 1,
        decided_at_ms: T0,
        policy_id: text.policy.id.clone(),
        policy_revision: text.policy.revision,
        source: DecisionSource::Save,
        locale: "fr".into(),
        grants,
        sdks_shown: text.policy.sdk_ids(),
        policy_hash: Some(text.hash.clone()),
        sdk_version: String::new(),
        app_version: String::new(),
        tracking_authorization: None,
        subject: String::new(),
        origin_hash: None,
        prev_hash: String::new(),
        record_hash: String::new(),
    }
}

/// A decision on the sample policy at `at`.
pub(crate) fn decision_at(at: i64) -> Decision {
    Decision {
        decided_at_ms: at,
        ..decision_on(&sample_text(), Grants::ALL)
    }
}

/// `d` with other grants, dated `when`.
fn at(d: &Decision, grants: Grants, when: i64) -> Decision {
    Decision {
        grants,
        decided_at_ms: when,
        ..d.clone()
    }
}

fn eval<'a>(
    current: &'a PolicyText,
    d: Option<&'a Decision>,
    shown: Option<&'a PolicyText>,
    clock_ms: i64,
) -> Evaluation<'a> {
    evaluate(&Inputs {
        current,
        decision: d,
        shown,
        marks: TimeMarks::default(),
        tampered: false,
        clock_ms,
    })
}

fn check(current: &PolicyText, d: Option<&Decision>, now: i64, sdk: &str) -> Verdict {
    verdict(
        &eval(current, d, None, now),
        sdk,
        TrackingAuthorization::NotApplicable,
    )
}

#[test]
fn no_decision_denies_everything_optional_and_asks() {
    let p = sample_text();
    let e = eval(&p, None, None, T0);
    assert_eq!(e.prompt, Some(PromptReason::NoDecision));
    assert_eq!(e.grants, Grants::NONE);
    assert_eq!(
        check(&p, None, T0, "firebase_analytics"),
        Verdict::deny(VerdictReason::NoDecision)
    );
    assert_eq!(
        check(&p, None, T0, "kmer_session"),
        Verdict::allow(VerdictReason::Essential)
    );
}

#[test]
fn unknown_sdk_is_denied_whatever_was_granted() {
    let p = sample_text();
    let d = decision_on(&p, Grants::ALL);
    assert_eq!(
        check(&p, Some(&d), T0, "not_in_policy"),
        Verdict::deny(VerdictReason::UnknownSdk)
    );
    assert_eq!(
        check(&p, Some(&d), T0, "").reason,
        VerdictReason::UnknownSdk
    );
}

#[test]
fn grant_and_refusal_per_category() {
    let p = sample_text();
    let grants = Grants {
        statistics: true,
        ..Grants::NONE
    };
    let d = decision_on(&p, grants);
    assert_eq!(
        check(&p, Some(&d), T0, "firebase_analytics"),
        Verdict::allow(VerdictReason::Granted)
    );
    for sdk in ["kmer_recommendations", "google_mobile_ads"] {
        assert_eq!(
            check(&p, Some(&d), T0, sdk),
            Verdict::deny(VerdictReason::Refused)
        );
    }
}

#[test]
fn a_decision_expires_after_the_lifetime() {
    let p = sample_text();
    let d = decision_on(&p, Grants::ALL);
    let last_valid = T0 + 390 * DAY_MS - 1;
    assert_eq!(eval(&p, Some(&d), None, last_valid).prompt, None);
    assert_eq!(
        check(&p, Some(&d), last_valid, "firebase_analytics").reason,
        VerdictReason::Granted
    );
    let expired = T0 + 390 * DAY_MS;
    let e = eval(&p, Some(&d), None, expired);
    assert_eq!(e.prompt, Some(PromptReason::Expired));
    assert_eq!(e.grants, Grants::NONE);
    assert_eq!(e.marks.expired_through_id, d.id, "remembered");
    assert_eq!(
        check(&p, Some(&d), expired, "firebase_analytics"),
        Verdict::deny(VerdictReason::Expired)
    );
    // Essential is not a matter of consent.
    assert!(check(&p, Some(&d), expired, "kmer_session").allowed);
}

#[test]
fn an_expiry_once_seen_holds_when_the_clock_goes_back() {
    let p = sample_text();
    let d = decision_on(&p, Grants::ALL);
    let marks = eval(&p, Some(&d), None, T0 + 400 * DAY_MS).marks;
    let e = evaluate(&Inputs {
        current: &p,
        decision: Some(&d),
        shown: None,
        marks,
        tampered: false,
        clock_ms: T0 + DAY_MS,
    });
    assert_eq!(e.prompt, Some(PromptReason::Expired));
    // A newer decision is not covered by the mark.
    let newer = Decision { id: 2, ..d };
    let e = evaluate(&Inputs {
        current: &p,
        decision: Some(&newer),
        shown: None,
        marks,
        tampered: false,
        clock_ms: T0 + DAY_MS,
    });
    assert_eq!(e.prompt, None);
}

#[test]
fn a_refusal_is_asked_again_after_the_reminder_delay_and_stays_in_force() {
    let p = sample_text();
    let d = decision_on(&p, Grants::NONE);
    assert_eq!(eval(&p, Some(&d), None, T0 + 179 * DAY_MS).prompt, None);
    let e = eval(&p, Some(&d), None, T0 + 180 * DAY_MS);
    assert_eq!(e.prompt, Some(PromptReason::RefusalReminder));
    assert_eq!(e.marks.reminded_through_id, d.id);
    assert_eq!(
        check(&p, Some(&d), T0 + 180 * DAY_MS, "firebase_analytics"),
        Verdict::deny(VerdictReason::Refused)
    );
    // The reminder, once due, stays due with the clock moved back.
    let e = evaluate(&Inputs {
        current: &p,
        decision: Some(&d),
        shown: None,
        marks: e.marks,
        tampered: false,
        clock_ms: T0 + DAY_MS,
    });
    assert_eq!(e.prompt, Some(PromptReason::RefusalReminder));
    // A partial refusal is a refusal too; a full grant is never reminded before expiry.
    let partial = decision_on(
        &p,
        Grants {
            marketing: false,
            ..Grants::ALL
        },
    );
    assert_eq!(
        eval(&p, Some(&partial), None, T0 + 200 * DAY_MS).prompt,
        Some(PromptReason::RefusalReminder)
    );
    let d = decision_on(&p, Grants::ALL);
    assert_eq!(eval(&p, Some(&d), None, T0 + 389 * DAY_MS).prompt, None);
}

#[test]
fn a_higher_revision_asks_again_and_covers_only_what_was_seen() {
    let old = sample_text();
    let d = decision_on(&old, Grants::ALL);
    let new = text_with(|p| {
        p["revision"] = 2.into();
        let mut added = p["sdks"][1].clone();
        added["id"] = "new_statistics_sdk".into();
        p["sdks"].as_array_mut().unwrap().push(added);
    });
    let e = eval(&new, Some(&d), Some(&old), T0 + DAY_MS);
    assert_eq!(e.prompt, Some(PromptReason::PolicyChanged));
    let v = |sdk| verdict(&e, sdk, TrackingAuthorization::NotApplicable);
    assert_eq!(
        v("firebase_analytics"),
        Verdict::allow(VerdictReason::Granted),
        "a grant still covers what the user saw"
    );
    assert_eq!(
        v("new_statistics_sdk"),
        Verdict::deny(VerdictReason::NotShownToUser)
    );
    // Without the text the user saw, nothing is known about what they saw.
    let e = eval(&new, Some(&d), None, T0 + DAY_MS);
    assert_eq!(e.prompt, Some(PromptReason::PolicyNotRecorded));
    assert_eq!(e.grants, Grants::NONE);
}

#[test]
fn under_a_new_revision_an_sdk_moved_into_a_granted_category_stays_denied() {
    let old = sample_text();
    let d = decision_on(
        &old,
        Grants {
            marketing: true,
            ..Grants::NONE
        },
    );
    let moved = text_with(|p| {
        p["revision"] = 2.into();
        p["sdks"][1]["category"] = "marketing".into(); // firebase_analytics
    });
    let e = eval(&moved, Some(&d), Some(&old), T0);
    assert_eq!(
        verdict(
            &e,
            "firebase_analytics",
            TrackingAuthorization::NotApplicable
        ),
        Verdict::deny(VerdictReason::ShownInAnotherCategory)
    );
    assert!(
        verdict(
            &e,
            "google_mobile_ads",
            TrackingAuthorization::NotApplicable
        )
        .allowed
    );
}

#[test]
fn a_rolled_back_or_edited_policy_grants_nothing_and_asks_again() {
    let v2 = text_with(|p| p["revision"] = 2.into());
    let d = decision_on(&v2, Grants::ALL);
    let v1 = sample_text();
    let v2_edited = text_with(|p| {
        p["revision"] = 2.into();
        p["sdks"][1]["category"] = "marketing".into();
    });
    for (current, prompt) in [
        (&v1, PromptReason::PolicyRolledBack),
        (&v2_edited, PromptReason::PolicyEditedInPlace),
    ] {
        let e = eval(current, Some(&d), Some(&v2), T0);
        assert_eq!(e.prompt, Some(prompt));
        assert_eq!(e.grants, Grants::NONE);
        for sdk in ["firebase_analytics", "google_mobile_ads"] {
            assert_eq!(
                verdict(&e, sdk, TrackingAuthorization::NotApplicable),
                Verdict::deny(VerdictReason::PolicyMismatch)
            );
        }
        assert!(verdict(&e, "kmer_session", TrackingAuthorization::NotApplicable).allowed);
    }
}

#[test]
fn the_lifetime_is_the_shorter_of_what_was_shown_and_what_is_in_use() {
    let short = text_with(|p| {
        p["consent_lifetime_days"] = 30.into();
        p["refusal_reprompt_days"] = 30.into();
    });
    let d = decision_on(&short, Grants::ALL);
    let longer = text_with(|p| {
        p["revision"] = 2.into();
        p["consent_lifetime_days"] = 390.into();
    });
    let e = eval(&longer, Some(&d), Some(&short), T0 + 31 * DAY_MS);
    assert_eq!(e.prompt, Some(PromptReason::Expired));
}

#[test]
fn expiry_beats_policy_change_beats_reminder() {
    let old = sample_text();
    let d = decision_on(&old, Grants::NONE);
    let new = text_with(|p| p["revision"] = 3.into());
    assert_eq!(
        eval(&new, Some(&d), Some(&old), T0 + 200 * DAY_MS).prompt,
        Some(PromptReason::PolicyChanged)
    );
    assert_eq!(
        eval(&new, Some(&d), Some(&old), T0 + 400 * DAY_MS).prompt,
        Some(PromptReason::Expired)
    );
}

#[test]
fn a_decision_under_another_policy_id_is_no_decision() {
    let p = sample_text();
    let mut d = decision_on(&p, Grants::ALL);
    d.policy_id = "some_other_app".into();
    assert_eq!(
        eval(&p, Some(&d), None, T0).prompt,
        Some(PromptReason::NoDecision)
    );
    assert_eq!(
        check(&p, Some(&d), T0, "firebase_analytics").reason,
        VerdictReason::NoDecision
    );
}

#[test]
fn an_untrusted_clock_grants_nothing() {
    let p = sample_text();
    let d = decision_on(&p, Grants::ALL);
    for clock in [
        0,
        T0 - 10 * 365 * DAY_MS,
        TRUSTED_UNTIL_MS,
        253_402_214_400_000,
    ] {
        let e = eval(&p, Some(&d), None, clock);
        assert_eq!(e.prompt, Some(PromptReason::ClockUnknown), "{clock}");
        assert_eq!(e.grants, Grants::NONE);
        assert_eq!(
            e.marks,
            TimeMarks::default(),
            "an unknown time proves nothing"
        );
        assert_eq!(e.next_change_ms(), None);
        assert_eq!(
            check(&p, Some(&d), clock, "firebase_analytics"),
            Verdict::deny(VerdictReason::ClockNotTrusted)
        );
    }
}

#[test]
fn a_decision_dated_after_the_clock_does_not_count_and_is_remembered_so() {
    let p = sample_text();
    let year_ahead = at(
        &decision_on(&p, Grants::ALL),
        Grants::ALL,
        T0 + 365 * DAY_MS,
    );
    let e = eval(&p, Some(&year_ahead), None, T0);
    assert_eq!(e.prompt, Some(PromptReason::DecisionInTheFuture));
    assert_eq!(e.grants, Grants::NONE);
    assert_eq!(e.marks.expired_through_id, year_ahead.id);
    // Within a clock step it counts.
    let step = at(&year_ahead, Grants::ALL, T0 + CLOCK_STEP_TOLERANCE_MS);
    assert_eq!(eval(&p, Some(&step), None, T0).prompt, None);
}

#[test]
fn a_decision_that_is_not_what_the_back_end_witnessed_grants_nothing() {
    let p = sample_text();
    let mut d = decision_on(&p, Grants::ALL);
    d.id = 7;
    d.record_hash = "aa".repeat(32);
    assert!(!standing::witnessed_differs(Some(&d), None));
    assert!(!standing::witnessed_differs(
        Some(&d),
        Some((7, &"aa".repeat(32)))
    ));
    assert!(
        !standing::witnessed_differs(Some(&d), Some((6, "anything"))),
        "older witness"
    );
    assert!(
        standing::witnessed_differs(Some(&d), Some((7, &"bb".repeat(32)))),
        "rewritten"
    );
    assert!(
        standing::witnessed_differs(Some(&d), Some((8, "x"))),
        "a later one removed"
    );
    assert!(
        standing::witnessed_differs(None, Some((1, "x"))),
        "all removed"
    );
    let e = evaluate(&Inputs {
        current: &p,
        decision: Some(&d),
        shown: None,
        marks: TimeMarks::default(),
        tampered: true,
        clock_ms: T0,
    });
    assert_eq!(e.prompt, Some(PromptReason::RecordTampered));
    assert_eq!(
        verdict(
            &e,
            "firebase_analytics",
            TrackingAuthorization::NotApplicable
        ),
        Verdict::deny(VerdictReason::RecordTampered)
    );
}

#[test]
fn tracking_sdks_need_their_category_and_tracking_authorization() {
    let p = sample_text();
    let d = decision_on(&p, Grants::ALL);
    let e = eval(&p, Some(&d), None, T0);
    for (status, allowed) in [
        (TrackingAuthorization::NotDetermined, false),
        (TrackingAuthorization::Restricted, false),
        (TrackingAuthorization::Denied, false),
        (TrackingAuthorization::Authorized, true),
        (TrackingAuthorization::NotApplicable, true),
    ] {
        let v = verdict(&e, "meta_audience_network", status);
        assert_eq!(v.allowed, allowed, "{status:?}");
        if !allowed {
            assert_eq!(v.reason, VerdictReason::TrackingNotAuthorized);
        }
        // An SDK in the same category without the requirement ignores ATT.
        assert!(verdict(&e, "google_mobile_ads", status).allowed);
    }
    // Authorized tracking never makes up for a refused category.
    let refused = decision_on(&p, Grants::NONE);
    let e = eval(&p, Some(&refused), None, T0);
    assert_eq!(
        verdict(
            &e,
            "meta_audience_network",
            TrackingAuthorization::Authorized
        ),
        Verdict::deny(VerdictReason::Refused)
    );
}

#[test]
fn a_stored_grant_read_later_is_checked_against_the_clock() {
    let granted = Verdict::allow(VerdictReason::Granted);
    let expiry = T0 + 390 * DAY_MS;
    assert_eq!(
        verdict_at(granted, Some(T0), Some(expiry), expiry - 1),
        granted
    );
    assert_eq!(
        verdict_at(granted, Some(T0), Some(expiry), expiry),
        Verdict::deny(VerdictReason::Expired)
    );
    assert_eq!(
        verdict_at(granted, Some(T0), Some(expiry), 0),
        Verdict::deny(VerdictReason::ClockNotTrusted)
    );
    assert_eq!(
        verdict_at(
            granted,
            Some(T0),
            Some(expiry),
            T0 - 2 * CLOCK_STEP_TOLERANCE_MS
        ),
        Verdict::deny(VerdictReason::ClockNotTrusted),
        "the clock went back before the decision"
    );
    let essential = Verdict::allow(VerdictReason::Essential);
    assert_eq!(
        verdict_at(essential, Some(T0), Some(expiry), expiry),
        essential
    );
    assert_eq!(verdict_at(essential, Some(T0), Some(expiry), 0), essential);
}

#[test]
fn next_change_is_the_earliest_future_boundary() {
    let p = sample_text();
    let d = decision_on(&p, Grants::NONE);
    assert_eq!(
        eval(&p, Some(&d), None, T0).next_change_ms(),
        Some(T0 + 180 * DAY_MS)
    );
    assert_eq!(
        eval(&p, Some(&d), None, T0 + 181 * DAY_MS).next_change_ms(),
        Some(T0 + 390 * DAY_MS)
    );
    assert_eq!(eval(&p, None, None, T0).next_change_ms(), None);
}

#[test]
fn times_near_the_limits_do_not_overflow() {
    let p = sample_text();
    let d = at(&decision_on(&p, Grants::ALL), Grants::ALL, i64::MAX - 5);
    let e = eval(&p, Some(&d), None, i64::MAX - 1);
    assert_eq!(e.prompt, Some(PromptReason::ClockUnknown));
    let e = eval(&p, Some(&d), None, T0);
    assert_eq!(e.prompt, Some(PromptReason::DecisionInTheFuture));
    let early = at(&d, Grants::ALL, i64::MIN);
    assert_eq!(
        eval(&p, Some(&early), None, T0).prompt,
        Some(PromptReason::Expired)
    );
}
