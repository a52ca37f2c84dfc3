//! The rules as pure functions: a policy, a decision and a time in, a verdict out. No database.

use super::*;
use crate::clock::DAY_MS;

const T0: i64 = 1_780_000_000_000; // 2026-05-28

fn policy() -> Policy {
    Policy::parse(include_str!("../../policies/kmeroccase.json")).expect("sample policy is valid")
}

fn decision(policy: &Policy, grants: Grants, at: i64) -> Decision {
    Decision {
        id: 1,
        decided_at_ms: at,
        policy_id: policy.id.clone(),
        policy_revision: policy.revision,
        source: crate::record::DecisionSource::Save,
        locale: "fr".into(),
        grants,
        sdks_shown: policy.sdk_ids(),
        policy_hash: None,
        sdk_version: String::new(),
        app_version: String::new(),
        tracking_authorization: None,
        subject: String::new(),
        origin_hash: None,
        prev_hash: String::new(),
        record_hash: String::new(),
    }
}

fn check(policy: &Policy, d: Option<&Decision>, now: i64, sdk: &str) -> Verdict {
    verdict(
        policy,
        &evaluate(policy, d, now),
        sdk,
        TrackingAuthorization::NotApplicable,
    )
}

#[test]
fn no_decision_denies_everything_optional_and_asks() {
    let p = policy();
    let e = evaluate(&p, None, T0);
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
    let p = policy();
    let d = decision(&p, Grants::ALL, T0);
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
    let p = policy();
    let grants = Grants {
        statistics: true,
        personalization: false,
        marketing: false,
    };
    let d = decision(&p, grants, T0);
    assert_eq!(
        check(&p, Some(&d), T0, "firebase_analytics"),
        Verdict::allow(VerdictReason::Granted)
    );
    assert_eq!(
        check(&p, Some(&d), T0, "kmer_recommendations"),
        Verdict::deny(VerdictReason::Refused)
    );
    assert_eq!(
        check(&p, Some(&d), T0, "google_mobile_ads"),
        Verdict::deny(VerdictReason::Refused)
    );
}

#[test]
fn a_decision_expires_after_the_lifetime() {
    let p = policy();
    let d = decision(&p, Grants::ALL, T0);
    let last_valid = T0 + 390 * DAY_MS - 1;
    assert_eq!(evaluate(&p, Some(&d), last_valid).prompt, None);
    assert_eq!(
        check(&p, Some(&d), last_valid, "firebase_analytics").reason,
        VerdictReason::Granted
    );

    let expired = T0 + 390 * DAY_MS;
    let e = evaluate(&p, Some(&d), expired);
    assert_eq!(e.prompt, Some(PromptReason::Expired));
    assert_eq!(e.grants, Grants::NONE);
    assert_eq!(
        check(&p, Some(&d), expired, "firebase_analytics"),
        Verdict::deny(VerdictReason::Expired)
    );
    // Essential is not a matter of consent.
    assert!(check(&p, Some(&d), expired, "kmer_session").allowed);
}

#[test]
fn a_refusal_is_asked_again_after_the_reminder_delay_and_stays_in_force() {
    let p = policy();
    let d = decision(&p, Grants::NONE, T0);
    assert_eq!(evaluate(&p, Some(&d), T0 + 179 * DAY_MS).prompt, None);
    let e = evaluate(&p, Some(&d), T0 + 180 * DAY_MS);
    assert_eq!(e.prompt, Some(PromptReason::RefusalReminder));
    assert_eq!(
        check(&p, Some(&d), T0 + 180 * DAY_MS, "firebase_analytics"),
        Verdict::deny(VerdictReason::Refused)
    );
    // A partial refusal is a refusal too; a full grant is never reminded before expiry.
    let partial = Grants {
        marketing: false,
        ..Grants::ALL
    };
    let d = decision(&p, partial, T0);
    assert_eq!(
        evaluate(&p, Some(&d), T0 + 200 * DAY_MS).prompt,
        Some(PromptReason::RefusalReminder)
    );
    let d = decision(&p, Grants::ALL, T0);
    assert_eq!(evaluate(&p, Some(&d), T0 + 389 * DAY_MS).prompt, None);
}

#[test]
fn a_higher_revision_asks_again_and_new_sdks_stay_denied() {
    let old = policy();
    let d = decision(&old, Grants::ALL, T0);
    let mut new = old.clone();
    new.revision = 2;
    let mut added = new.sdks[1].clone();
    added.id = "new_statistics_sdk".into();
    new.sdks.push(added);

    let e = evaluate(&new, Some(&d), T0 + DAY_MS);
    assert_eq!(e.prompt, Some(PromptReason::PolicyChanged));
    assert_eq!(
        check(&new, Some(&d), T0 + DAY_MS, "firebase_analytics"),
        Verdict::allow(VerdictReason::Granted),
        "a grant still covers what the user saw"
    );
    assert_eq!(
        check(&new, Some(&d), T0 + DAY_MS, "new_statistics_sdk"),
        Verdict::deny(VerdictReason::NotShownToUser)
    );
}

#[test]
fn an_sdk_added_without_a_revision_bump_is_still_not_shown() {
    let mut p = policy();
    let d = decision(&p, Grants::ALL, T0);
    let mut added = p.sdks[1].clone();
    added.id = "sneaked_in".into();
    p.sdks.push(added);
    assert_eq!(
        check(&p, Some(&d), T0, "sneaked_in"),
        Verdict::deny(VerdictReason::NotShownToUser)
    );
}

#[test]
fn expiry_beats_policy_change_beats_reminder() {
    let old = policy();
    let d = decision(&old, Grants::NONE, T0);
    let mut new = old.clone();
    new.revision = 3;
    assert_eq!(
        evaluate(&new, Some(&d), T0 + 200 * DAY_MS).prompt,
        Some(PromptReason::PolicyChanged)
    );
    assert_eq!(
        evaluate(&new, Some(&d), T0 + 400 * DAY_MS).prompt,
        Some(PromptReason::Expired)
    );
}

#[test]
fn a_decision_under_another_policy_id_is_no_decision() {
    let p = policy();
    let mut d = decision(&p, Grants::ALL, T0);
    d.policy_id = "some_other_app".into();
    assert_eq!(
        evaluate(&p, Some(&d), T0).prompt,
        Some(PromptReason::NoDecision)
    );
    assert_eq!(
        check(&p, Some(&d), T0, "firebase_analytics").reason,
        VerdictReason::NoDecision
    );
}

#[test]
fn tracking_sdks_need_their_category_and_tracking_authorization() {
    let p = policy();
    let d = decision(&p, Grants::ALL, T0);
    let e = evaluate(&p, Some(&d), T0);
    for (status, allowed) in [
        (TrackingAuthorization::NotDetermined, false),
        (TrackingAuthorization::Restricted, false),
        (TrackingAuthorization::Denied, false),
        (TrackingAuthorization::Authorized, true),
        (TrackingAuthorization::NotApplicable, true),
    ] {
        let v = verdict(&p, &e, "meta_audience_network", status);
        assert_eq!(v.allowed, allowed, "{status:?}");
        if !allowed {
            assert_eq!(v.reason, VerdictReason::TrackingNotAuthorized);
        }
        // An SDK in the same category without the requirement ignores ATT.
        assert!(verdict(&p, &e, "google_mobile_ads", status).allowed);
    }
    // Authorized tracking never makes up for a refused category.
    let refused = decision(&p, Grants::NONE, T0);
    let e = evaluate(&p, Some(&refused), T0);
    assert_eq!(
        verdict(
            &p,
            &e,
            "meta_audience_network",
            TrackingAuthorization::Authorized
        ),
        Verdict::deny(VerdictReason::Refused)
    );
}

#[test]
fn a_stored_grant_read_after_expiry_is_denied() {
    let granted = Verdict::allow(VerdictReason::Granted);
    let expiry = T0 + 390 * DAY_MS;
    assert_eq!(verdict_at(granted, Some(expiry), expiry - 1), granted);
    assert_eq!(
        verdict_at(granted, Some(expiry), expiry),
        Verdict::deny(VerdictReason::Expired)
    );
    let essential = Verdict::allow(VerdictReason::Essential);
    assert_eq!(verdict_at(essential, Some(expiry), expiry), essential);
}

#[test]
fn next_change_is_the_earliest_future_boundary() {
    let p = policy();
    let d = decision(&p, Grants::NONE, T0);
    let e = evaluate(&p, Some(&d), T0);
    assert_eq!(e.next_change_ms(T0), Some(T0 + 180 * DAY_MS));
    let e = evaluate(&p, Some(&d), T0 + 181 * DAY_MS);
    assert_eq!(e.next_change_ms(T0 + 181 * DAY_MS), Some(T0 + 390 * DAY_MS));
    assert_eq!(evaluate(&p, None, T0).next_change_ms(T0), None);
}

#[test]
fn times_near_the_limits_do_not_overflow() {
    let p = policy();
    let d = decision(&p, Grants::ALL, i64::MAX - 5);
    let e = evaluate(&p, Some(&d), i64::MAX - 1);
    assert_eq!(e.expires_at_ms, Some(i64::MAX));
    assert_eq!(e.prompt, None);
}
