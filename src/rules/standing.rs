//! Whether the latest decision is in force, and the gate's verdict for each SDK under it.
//!
//! A decision is in force when all of these hold: it is under this policy id; no expiry of it was
//! ever seen ([`TimeMarks`], which a clock moved back cannot undo); the clock is trusted; the
//! decision is not dated after the clock (beyond a clock step); it was made on this policy text or
//! an earlier revision of it ([`coverage`]); and it is younger than the shorter of the two
//! lifetimes. An SDK is then allowed when its category is granted, the decision showed it in that
//! category with the same vendor ids, and tracking authorization permits it where either text asks
//! for it.

use crate::category::{Category, Grants};
use crate::clock::days_after;
use crate::policy::{Policy, PolicyText};
use crate::record::Decision;

use super::coverage::{self, Coverage, Relation, Seen};
use super::time::{self, TimeMarks};
use super::{PromptReason, TrackingAuthorization, Verdict, VerdictReason};

/// Everything the standing of a decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The policy in use.
    pub current: &'a PolicyText,
    /// The subject's latest decision (or one held in memory that the store could not write).
    pub decision: Option<&'a Decision>,
    /// The policy text that decision was made on, when it could be read.
    pub shown: Option<&'a PolicyText>,
    pub marks: TimeMarks,
    /// Whether the decision differs from what the back end witnessed (see [`witnessed_differs`]).
    pub tampered: bool,
    /// The device clock, as read (see [`time::trusted`]).
    pub clock_ms: i64,
}

/// Whether the store's latest record of a subject is not what the back end witnessed: the newest
/// witness (the record id it names here and the hash it signed) is for a later record, now gone,
/// or for this record with another hash.
pub fn witnessed_differs(latest: Option<&Decision>, newest_witness: Option<(i64, &str)>) -> bool {
    match (latest, newest_witness) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(d), Some((id, hash))) => id > d.id || (id == d.id && hash != d.witness_hash()),
    }
}

/// Why a decision that exists does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotInForce {
    Tampered,
    ClockUnknown,
    InTheFuture,
    RolledBack,
    EditedInPlace,
    NotRecorded,
}

impl NotInForce {
    fn prompt(self) -> PromptReason {
        match self {
            NotInForce::Tampered => PromptReason::RecordTampered,
            NotInForce::ClockUnknown => PromptReason::ClockUnknown,
            NotInForce::InTheFuture => PromptReason::DecisionInTheFuture,
            NotInForce::RolledBack => PromptReason::PolicyRolledBack,
            NotInForce::EditedInPlace => PromptReason::PolicyEditedInPlace,
            NotInForce::NotRecorded => PromptReason::PolicyNotRecorded,
        }
    }

    fn verdict(self) -> VerdictReason {
        match self {
            NotInForce::Tampered => VerdictReason::RecordTampered,
            NotInForce::ClockUnknown | NotInForce::InTheFuture => VerdictReason::ClockNotTrusted,
            NotInForce::RolledBack | NotInForce::EditedInPlace | NotInForce::NotRecorded => {
                VerdictReason::PolicyMismatch
            }
        }
    }
}

/// Where the latest decision stands.
#[derive(Debug, Clone, Copy)]
pub enum Standing<'a> {
    /// No decision, or one made under another policy id.
    None,
    /// A decision past its lifetime (or marked so).
    Expired(&'a Decision),
    /// A decision that does not count, and why.
    NotInForce(&'a Decision, NotInForce),
    /// A decision in force, with what it covers.
    Current(&'a Decision, Coverage<'a>),
}

/// The rules applied to one decision at one time.
#[derive(Debug, Clone, Copy)]
pub struct Evaluation<'a> {
    pub current: &'a Policy,
    pub standing: Standing<'a>,
    /// The categories in force: the decision's under a current decision, none otherwise.
    pub grants: Grants,
    pub prompt: Option<PromptReason>,
    /// When the decision stops counting (also for one that has expired).
    pub expires_at_ms: Option<i64>,
    /// When a decision that refused something is asked again.
    pub reprompt_at_ms: Option<i64>,
    /// The marks after this evaluation: raised when it saw, at a trusted time, an expiry, a
    /// reminder falling due, or a decision dated in the future. The caller keeps them.
    pub marks: TimeMarks,
    /// The trusted time it was made at (`None`: the clock could not be trusted).
    pub now_ms: Option<i64>,
}

impl<'a> Evaluation<'a> {
    pub fn decision(&self) -> Option<&'a Decision> {
        match self.standing {
            Standing::None => None,
            Standing::Expired(d) | Standing::NotInForce(d, _) | Standing::Current(d, _) => Some(d),
        }
    }

    /// The decision in force and what it covers, if there is one.
    pub fn in_force(&self) -> Option<(&'a Decision, Coverage<'a>)> {
        match self.standing {
            Standing::Current(d, c) => Some((d, c)),
            _ => None,
        }
    }

    /// The first time after this evaluation at which time alone changes it. `None` also when the
    /// clock is not trusted: a closed gate may be kept until something else asks again.
    pub fn next_change_ms(&self) -> Option<i64> {
        let now = self.now_ms?;
        if !matches!(self.standing, Standing::Current(..)) {
            return None;
        }
        [self.expires_at_ms, self.reprompt_at_ms]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
    }
}

/// Applies the rules to the latest decision at `inputs.clock_ms`.
pub fn evaluate<'a>(inputs: &Inputs<'a>) -> Evaluation<'a> {
    let current = &inputs.current.policy;
    let now = time::trusted(inputs.clock_ms);
    let nothing = |standing, prompt, marks| Evaluation {
        current,
        standing,
        grants: Grants::NONE,
        prompt: Some(prompt),
        expires_at_ms: None,
        reprompt_at_ms: None,
        marks,
        now_ms: now,
    };
    let Some(decision) = inputs.decision.filter(|d| d.policy_id == current.id) else {
        return nothing(Standing::None, PromptReason::NoDecision, inputs.marks);
    };
    // The lifetime as far as it can be known: what both texts allow, else the policy's in use.
    let relation = coverage::relation(decision, inputs.shown, inputs.current);
    let coverage = match (relation, inputs.shown) {
        (Relation::Same, _) => Some(Coverage::same(current)),
        (Relation::EarlierRevision, Some(shown)) => Some(Coverage {
            shown: &shown.policy,
            current,
        }),
        _ => None,
    };
    let lifetime = coverage.map_or(current.consent_lifetime_days, |c| c.lifetime_days());
    let expires_at_ms = days_after(decision.decided_at_ms, lifetime);
    let expired = |marks| Evaluation {
        expires_at_ms: Some(expires_at_ms),
        ..nothing(Standing::Expired(decision), PromptReason::Expired, marks)
    };
    let not_in_force =
        |why: NotInForce, marks| nothing(Standing::NotInForce(decision, why), why.prompt(), marks);
    if inputs.tampered {
        return not_in_force(NotInForce::Tampered, inputs.marks);
    }
    if now.is_some_and(|now| time::is_from_the_future(decision.decided_at_ms, now)) {
        // Seen at a trusted time: the decision's date cannot be believed, now or later (once the
        // clock has caught up, the mark says it expired).
        let marks = inputs.marks.raised(decision, true, false);
        return not_in_force(NotInForce::InTheFuture, marks);
    }
    if inputs.marks.expired(decision) {
        return expired(inputs.marks);
    }
    let Some(now) = now else {
        return not_in_force(NotInForce::ClockUnknown, inputs.marks);
    };
    let coverage = match (relation, coverage) {
        (_, Some(c)) => c,
        (Relation::LaterRevision, _) => return not_in_force(NotInForce::RolledBack, inputs.marks),
        (Relation::EditedInPlace, _) => {
            return not_in_force(NotInForce::EditedInPlace, inputs.marks)
        }
        _ => return not_in_force(NotInForce::NotRecorded, inputs.marks),
    };
    if now >= expires_at_ms {
        return expired(inputs.marks.raised(decision, true, false));
    }
    let reprompt_at_ms = decision
        .grants
        .any_refused()
        .then(|| days_after(decision.decided_at_ms, coverage.reprompt_days()));
    let due = reprompt_at_ms.is_some_and(|t| now >= t);
    let marks = inputs.marks.raised(decision, false, due);
    let prompt = if relation == Relation::EarlierRevision {
        Some(PromptReason::PolicyChanged)
    } else if due || (reprompt_at_ms.is_some() && marks.reminded(decision)) {
        Some(PromptReason::RefusalReminder)
    } else {
        None
    };
    Evaluation {
        current,
        standing: Standing::Current(decision, coverage),
        grants: decision.grants,
        prompt,
        expires_at_ms: Some(expires_at_ms),
        reprompt_at_ms,
        marks,
        now_ms: Some(now),
    }
}

/// The gate's verdict for one SDK under an evaluation and a tracking status.
pub fn verdict(
    evaluation: &Evaluation<'_>,
    sdk_id: &str,
    tracking: TrackingAuthorization,
) -> Verdict {
    let Some(sdk) = evaluation.current.sdk(sdk_id) else {
        return Verdict::deny(VerdictReason::UnknownSdk);
    };
    if sdk.category == Category::Essential {
        return Verdict::allow(VerdictReason::Essential);
    }
    let (decision, coverage) = match evaluation.standing {
        Standing::None => return Verdict::deny(VerdictReason::NoDecision),
        Standing::Expired(_) => return Verdict::deny(VerdictReason::Expired),
        Standing::NotInForce(_, why) => return Verdict::deny(why.verdict()),
        Standing::Current(d, c) => (d, c),
    };
    if !evaluation.grants.get(sdk.category) {
        return Verdict::deny(VerdictReason::Refused);
    }
    match coverage.seen(sdk) {
        Seen::AsNow if decision.sdks_shown.iter().any(|shown| shown == sdk_id) => {}
        Seen::InAnotherCategory => return Verdict::deny(VerdictReason::ShownInAnotherCategory),
        _ => return Verdict::deny(VerdictReason::NotShownToUser),
    }
    if coverage.requires_tracking(sdk) && !tracking.permits_tracking() {
        return Verdict::deny(VerdictReason::TrackingNotAuthorized);
    }
    Verdict::allow(VerdictReason::Granted)
}

/// A verdict computed earlier, read at `clock_ms`: a grant does not outlive the decision's expiry,
/// a clock that cannot be trusted, or a clock moved back before the decision, even before the
/// snapshot it came from is recomputed.
pub fn verdict_at(
    verdict: Verdict,
    decided_at_ms: Option<i64>,
    expires_at_ms: Option<i64>,
    clock_ms: i64,
) -> Verdict {
    if verdict.reason != VerdictReason::Granted {
        return verdict;
    }
    let Some(now) = time::trusted(clock_ms) else {
        return Verdict::deny(VerdictReason::ClockNotTrusted);
    };
    if decided_at_ms.is_some_and(|d| time::is_from_the_future(d, now)) {
        return Verdict::deny(VerdictReason::ClockNotTrusted);
    }
    match expires_at_ms {
        Some(expiry) if now >= expiry => Verdict::deny(VerdictReason::Expired),
        _ => verdict,
    }
}
