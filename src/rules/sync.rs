//! Decisions that come from elsewhere: another device of the same account (through the app's back
//! end), and the device's own decision when someone logs in.
//!
//! An import applies only when the back end witnessed it (the manager checks the signature).
//! Another device's decision replaces the one here only when the back end saw it later than it saw
//! this one **and** it is not dated before this one (each date bounded by when the back end saw
//! it): the back end's clock orders arrivals, not taps, so a stale decision that arrives late (an
//! offline device, a re-sent outbox) must not win on arrival alone. When the two orders disagree,
//! or the decision here has not reached the back end yet, they cannot be ordered, and each category
//! keeps the more restrictive choice. Only a decision here that has outlived its lifetime (or an
//! adoption) competes with nothing: one that merely does not count now (its policy rolled back,
//! dated ahead of the clock, …) is still the user's latest word. An adoption at login is not this
//! user's choice: it never grants, never leaves the device, and never stands against another
//! device's explicit decision.

use crate::category::Grants;
use crate::record::{Decision, DecisionSource};

/// The decision here that an import would replace.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    pub decision: &'a Decision,
    /// Whether it has outlived its lifetime (see [`aged_out`]): then it competes with nothing.
    pub aged_out: bool,
    /// When the back end witnessed it (`None`: it has not, or it holds something unwitnessed).
    pub witnessed_at_ms: Option<i64>,
}

/// Whether a decision has outlived its lifetime at a trusted `now`: it expires at `expires_at_ms`
/// and is not dated after the clock (one dated ahead only looks old to nothing, and is still the
/// user's latest word).
pub fn aged_out(decision: &Decision, expires_at_ms: Option<i64>, now: Option<i64>) -> bool {
    match (expires_at_ms, now) {
        (Some(expiry), Some(now)) => {
            now >= expiry && !super::time::is_from_the_future(decision.decided_at_ms, now)
        }
        _ => false,
    }
}

/// What to do with another device's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Import {
    /// Record it as it is (source `Import`): it is the later one, or nothing here competes.
    Apply,
    /// The two cannot be ordered: record these categories, each the more restrictive choice of the
    /// two (source `ImportMerged`).
    Restrict(Grants),
    /// It is older than the decision here, or would change nothing: record nothing.
    Ignore,
}

/// Which decisions may come from another device at all, for whom and under which policy.
pub fn may_import(remote: &Decision, subject: &str, policy_id: &str) -> Result<(), String> {
    if subject.is_empty() || remote.subject != subject {
        return Err("it is not for the logged-in user".into());
    }
    if remote.policy_id != policy_id {
        return Err(format!(
            "it is for policy {:?}, not {:?}",
            remote.policy_id, policy_id
        ));
    }
    match remote.source {
        // Neither is a choice made on that device: adoptions stay where they were made, and an
        // import came from here in the first place.
        DecisionSource::SubjectLink | DecisionSource::Import => Err(format!(
            "a {} decision is not an explicit choice made on that device",
            remote.source.as_str()
        )),
        _ => Ok(()),
    }
}

/// Whether and how another device's decision, witnessed by the back end at `remote_witnessed_at_ms`,
/// applies over `local`.
pub fn import(local: Option<Local<'_>>, remote: &Decision, remote_witnessed_at_ms: i64) -> Import {
    let Some(local) =
        local.filter(|l| !l.aged_out && l.decision.source != DecisionSource::SubjectLink)
    else {
        return Import::Apply;
    };
    let restrict_or_ignore = || {
        let restricted = local.decision.grants.and(remote.grants);
        if restricted == local.decision.grants {
            Import::Ignore
        } else {
            Import::Restrict(restricted)
        }
    };
    let Some(here) = local.witnessed_at_ms else {
        return restrict_or_ignore();
    };
    let arrived_later = remote_witnessed_at_ms > here;
    let dated_later = imported_decided_at(remote, remote_witnessed_at_ms)
        >= local.decision.decided_at_ms.min(here);
    match (arrived_later, dated_later) {
        (true, true) => Import::Apply,
        (false, false) => Import::Ignore,
        // The back end's order and the decisions' own dates disagree: they cannot be ordered.
        _ => restrict_or_ignore(),
    }
}

/// The time an imported decision counts from: the other device's clock, but never later than when
/// the back end saw it (a device whose clock runs ahead cannot stretch a consent).
pub fn imported_decided_at(remote: &Decision, witnessed_at_ms: i64) -> i64 {
    remote.decided_at_ms.min(witnessed_at_ms)
}

/// What a user who logs in with no decision of their own takes from the device's decision in
/// force (`device`, `None` when there is none in force): a refusal of everything optional, so that
/// someone who refused is not asked twice; never a grant, since whoever used the device before
/// may not be them. `None`: nothing is adopted and the user is asked.
pub fn adoption(device: Option<&Decision>) -> Option<Grants> {
    device
        .filter(|d| !d.grants.any_granted())
        .map(|_| Grants::NONE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::DAY_MS;
    use crate::rules::tests::decision_at;

    const T0: i64 = 1_780_000_000_000;

    fn with(grants: Grants, source: DecisionSource) -> Decision {
        Decision {
            grants,
            source,
            subject: "account-7".into(),
            ..decision_at(T0)
        }
    }

    fn local(d: &Decision, witnessed: Option<i64>) -> Option<Local<'_>> {
        Some(Local {
            decision: d,
            aged_out: false,
            witnessed_at_ms: witnessed,
        })
    }

    fn at(mut d: Decision, decided_at_ms: i64) -> Decision {
        d.decided_at_ms = decided_at_ms;
        d
    }

    #[test]
    fn a_later_decision_applies_when_the_back_end_and_the_dates_agree() {
        let here = at(with(Grants::NONE, DecisionSource::Withdraw), T0);
        let there = at(with(Grants::ALL, DecisionSource::AcceptAll), T0 + 100);
        assert_eq!(
            import(local(&here, Some(T0 + 10)), &there, T0 + 200),
            Import::Apply
        );
        // Seen earlier by the back end and dated earlier: older.
        let older = at(with(Grants::ALL, DecisionSource::AcceptAll), T0 - 100);
        assert_eq!(
            import(local(&here, Some(T0 + 10)), &older, T0 + 5),
            Import::Ignore
        );
        assert_eq!(
            import(local(&here, Some(T0 + 10)), &older, T0 + 10),
            Import::Ignore
        );
    }

    #[test]
    fn a_stale_decision_that_arrives_late_only_restricts() {
        // The tablet withdrew at T0 and the back end saw it at once; the phone's acceptance of the
        // day before reaches the back end after that.
        let here = at(with(Grants::NONE, DecisionSource::Withdraw), T0);
        let stale = at(with(Grants::ALL, DecisionSource::AcceptAll), T0 - DAY_MS);
        assert_eq!(
            import(local(&here, Some(T0 + 10)), &stale, T0 + 20),
            Import::Ignore
        );
        // The other way round: a refusal dated later but seen earlier still restricts.
        let here = at(with(Grants::ALL, DecisionSource::AcceptAll), T0);
        let refusal = at(with(Grants::NONE, DecisionSource::RejectAll), T0 + 500);
        assert_eq!(
            import(local(&here, Some(T0 + 1000)), &refusal, T0 + 900),
            Import::Restrict(Grants::NONE)
        );
        // A date that runs ahead of when the back end saw it counts only up to that.
        let ahead = at(
            with(Grants::ALL, DecisionSource::AcceptAll),
            T0 + 20 * DAY_MS,
        );
        let withdrawn = at(with(Grants::NONE, DecisionSource::Withdraw), T0 + 30);
        assert_eq!(
            import(local(&withdrawn, Some(T0 + 40)), &ahead, T0 + 35),
            Import::Ignore
        );
    }

    #[test]
    fn the_back_ends_order_decides_between_witnessed_decisions_dated_alike() {
        let here = with(Grants::NONE, DecisionSource::Withdraw);
        let there = with(Grants::ALL, DecisionSource::AcceptAll);
        assert_eq!(
            import(local(&here, Some(T0 + 100)), &there, T0 + 200),
            Import::Apply
        );
        assert_eq!(
            import(local(&here, Some(T0 + 200)), &there, T0 + 100),
            Import::Ignore
        );
    }

    #[test]
    fn an_unordered_pair_keeps_the_more_restrictive_choice_per_category() {
        let stats_only = Grants {
            statistics: true,
            ..Grants::NONE
        };
        let here = with(stats_only, DecisionSource::Save);
        let there = with(Grants::ALL, DecisionSource::AcceptAll);
        assert_eq!(
            import(local(&here, None), &there, 100),
            Import::Ignore,
            "nothing to take away"
        );
        let marketing_only = Grants {
            marketing: true,
            ..Grants::NONE
        };
        let there = with(marketing_only, DecisionSource::Save);
        assert_eq!(
            import(local(&here, None), &there, 100),
            Import::Restrict(Grants::NONE)
        );
        let everything_here = with(Grants::ALL, DecisionSource::AcceptAll);
        assert_eq!(
            import(local(&everything_here, None), &there, 100),
            Import::Restrict(marketing_only)
        );
    }

    #[test]
    fn an_adoption_or_nothing_in_force_never_stands_against_an_import() {
        let adopted = with(Grants::NONE, DecisionSource::SubjectLink);
        let there = with(Grants::ALL, DecisionSource::AcceptAll);
        assert_eq!(import(local(&adopted, None), &there, 1), Import::Apply);
        assert_eq!(import(None, &there, 1), Import::Apply);
        let withdrawn = with(Grants::NONE, DecisionSource::Withdraw);
        let old = Local {
            decision: &withdrawn,
            aged_out: true,
            witnessed_at_ms: Some(T0 + 500),
        };
        assert_eq!(import(Some(old), &there, T0), Import::Apply);
        // Not in force for another reason (rolled back, dated ahead): still the user's last word.
        assert_eq!(
            import(local(&withdrawn, Some(T0 + 500)), &there, T0),
            Import::Ignore
        );
    }

    #[test]
    fn only_a_decision_older_than_its_lifetime_at_a_trusted_time_is_aged_out() {
        let d = with(Grants::ALL, DecisionSource::AcceptAll);
        let expiry = Some(T0 + 390 * DAY_MS);
        assert!(aged_out(&d, expiry, Some(T0 + 391 * DAY_MS)));
        assert!(!aged_out(&d, expiry, Some(T0 + DAY_MS)));
        assert!(
            !aged_out(&d, expiry, None),
            "an unknown clock proves nothing"
        );
        let ahead = at(d.clone(), T0 + 500 * DAY_MS);
        assert!(!aged_out(
            &ahead,
            Some(T0 + 100 * DAY_MS),
            Some(T0 + 200 * DAY_MS)
        ));
    }

    #[test]
    fn only_explicit_choices_for_this_user_and_policy_come_in() {
        let ok = with(Grants::ALL, DecisionSource::AcceptAll);
        assert!(may_import(&ok, "account-7", "kmeroccase").is_ok());
        assert!(may_import(&ok, "someone-else", "kmeroccase").is_err());
        assert!(may_import(&ok, "", "kmeroccase").is_err());
        assert!(may_import(&ok, "account-7", "another").is_err());
        for source in [DecisionSource::SubjectLink, DecisionSource::Import] {
            assert!(may_import(&with(Grants::NONE, source), "account-7", "kmeroccase").is_err());
        }
        assert!(may_import(
            &with(Grants::NONE, DecisionSource::ImportMerged),
            "account-7",
            "kmeroccase"
        )
        .is_ok());
    }

    #[test]
    fn an_import_counts_from_the_earlier_of_the_device_and_the_back_end() {
        let ahead = with(Grants::ALL, DecisionSource::AcceptAll);
        assert_eq!(imported_decided_at(&ahead, T0 - 1000), T0 - 1000);
        assert_eq!(imported_decided_at(&ahead, T0 + 1000), T0);
    }

    #[test]
    fn login_adopts_a_refusal_and_never_a_grant() {
        let refused = with(Grants::NONE, DecisionSource::RejectAll);
        assert_eq!(adoption(Some(&refused)), Some(Grants::NONE));
        let partly = with(
            Grants {
                statistics: true,
                ..Grants::NONE
            },
            DecisionSource::Save,
        );
        assert_eq!(adoption(Some(&partly)), None);
        assert_eq!(
            adoption(Some(&with(Grants::ALL, DecisionSource::AcceptAll))),
            None
        );
        assert_eq!(adoption(None), None);
    }
}
