//! Decisions that come from elsewhere: another device of the same account (through the app's back
//! end), and the device's own decision when someone logs in.
//!
//! An import applies only when the back end witnessed it (the manager checks the signature), and
//! decisions are ordered by the back end's clock, never by a device's: another device's decision
//! replaces the one here only when the back end saw it later than it saw this one. When the two
//! cannot be ordered (the decision here has not reached the back end yet), each category keeps the
//! more restrictive choice. An adoption at login is not this user's choice: it never grants, never
//! leaves the device, and never stands against another device's explicit decision.

use crate::category::Grants;
use crate::record::{Decision, DecisionSource};

/// The decision here that an import would replace.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    pub decision: &'a Decision,
    /// Whether it is in force now (an expired one competes with nothing).
    pub in_force: bool,
    /// When the back end witnessed it (`None`: it has not, or it holds something unwitnessed).
    pub witnessed_at_ms: Option<i64>,
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
        local.filter(|l| l.in_force && l.decision.source != DecisionSource::SubjectLink)
    else {
        return Import::Apply;
    };
    match local.witnessed_at_ms {
        Some(here) if remote_witnessed_at_ms > here => Import::Apply,
        Some(_) => Import::Ignore,
        None => {
            let restricted = local.decision.grants.and(remote.grants);
            if restricted == local.decision.grants {
                Import::Ignore
            } else {
                Import::Restrict(restricted)
            }
        }
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
            in_force: true,
            witnessed_at_ms: witnessed,
        })
    }

    #[test]
    fn the_back_ends_order_decides_between_witnessed_decisions() {
        let here = with(Grants::NONE, DecisionSource::Withdraw);
        let there = with(Grants::ALL, DecisionSource::AcceptAll);
        assert_eq!(import(local(&here, Some(100)), &there, 200), Import::Apply);
        assert_eq!(import(local(&here, Some(200)), &there, 100), Import::Ignore);
        assert_eq!(import(local(&here, Some(100)), &there, 100), Import::Ignore);
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
        let expired = Local {
            decision: &there,
            in_force: false,
            witnessed_at_ms: Some(500),
        };
        assert_eq!(import(Some(expired), &there, 1), Import::Apply);
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
