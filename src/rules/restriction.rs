//! Restrictions first: what a decision does when the store cannot write it (a full disk, a
//! read-only or locked store, an I/O error). Withdrawing must be as easy as giving (GDPR art. 7(3)),
//! so what a choice refuses takes effect at once, in memory; what it grants waits for a write.

use crate::category::{Category, Grants};

/// What to do with a decision the store refused to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwritten {
    /// It grants, and takes nothing away (a first acceptance, or the same grants again, which would
    /// renew them): nothing changes, the call fails.
    NoEffect,
    /// It grants nothing that is not granted now (a refusal, a withdrawal, a narrower choice, even
    /// a refusal with nothing granted yet): it holds in memory as it is, and is written as soon as
    /// the store allows. The call succeeds, with the status saying it is not yet saved.
    Hold,
    /// It takes some things away and grants others: these categories (what it refuses, nothing it
    /// grants) hold in memory for this process; nothing is written, since it is not what the user
    /// chose. The call fails.
    HoldRefusals(Grants),
}

/// The effect of an unwritten `chosen` over the categories `in_force` now.
pub fn unwritten(in_force: Grants, chosen: Grants) -> Unwritten {
    let narrowed = in_force.and(chosen);
    let grants_nothing_new = Category::OPTIONAL
        .into_iter()
        .all(|c| !chosen.get(c) || in_force.get(c));
    if !chosen.any_granted() || (grants_nothing_new && narrowed != in_force) {
        Unwritten::Hold
    } else if narrowed == in_force {
        Unwritten::NoEffect
    } else {
        Unwritten::HoldRefusals(narrowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: Grants = Grants {
        statistics: true,
        personalization: false,
        marketing: false,
    };
    const MARKETING: Grants = Grants {
        statistics: false,
        personalization: false,
        marketing: true,
    };

    #[test]
    fn a_withdrawal_holds_and_a_grant_changes_nothing() {
        assert_eq!(unwritten(Grants::ALL, Grants::NONE), Unwritten::Hold);
        assert_eq!(unwritten(Grants::ALL, STATS), Unwritten::Hold);
        // A first refusal too: it is the user's answer, and the banner must not come back.
        assert_eq!(unwritten(Grants::NONE, Grants::NONE), Unwritten::Hold);
        assert_eq!(unwritten(Grants::NONE, Grants::ALL), Unwritten::NoEffect);
        assert_eq!(unwritten(STATS, Grants::ALL), Unwritten::NoEffect);
        // The same grants again would renew them: a grant.
        assert_eq!(unwritten(Grants::ALL, Grants::ALL), Unwritten::NoEffect);
        assert_eq!(unwritten(STATS, STATS), Unwritten::NoEffect);
    }

    #[test]
    fn a_choice_that_also_grants_keeps_only_its_refusals() {
        // Statistics granted now; the user moves to marketing only.
        assert_eq!(
            unwritten(STATS, MARKETING),
            Unwritten::HoldRefusals(Grants::NONE)
        );
        let stats_and_marketing = STATS.or(MARKETING);
        assert_eq!(
            unwritten(
                stats_and_marketing,
                Grants::ALL.without(Category::Statistics)
            ),
            Unwritten::HoldRefusals(MARKETING)
        );
    }
}
