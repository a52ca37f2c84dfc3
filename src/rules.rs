//! The consent rules: pure functions over a policy, the latest decision, the tracking status and a
//! time. No I/O, no clock of their own: every rule is tested by passing the time in.

use crate::category::{Category, Grants};
use crate::clock::days_after;
use crate::policy::Policy;
use crate::record::Decision;

/// Why the app should show the consent banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum PromptReason {
    /// The user has never decided (under this policy id).
    NoDecision,
    /// The decision is older than the policy's consent lifetime; it no longer counts.
    Expired,
    /// Something was refused long enough ago (`refusal_reprompt_days`) to ask again. The refusal stays
    /// in force until the user answers.
    RefusalReminder,
    /// The policy has a higher revision than the one the user decided on. Grants stay in force for the
    /// SDKs the user was shown.
    PolicyChanged,
}

impl PromptReason {
    /// The id used in logs, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptReason::NoDecision => "no_decision",
            PromptReason::Expired => "expired",
            PromptReason::RefusalReminder => "refusal_reminder",
            PromptReason::PolicyChanged => "policy_changed",
        }
    }
}

/// Why an SDK may or may not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum VerdictReason {
    /// Allowed: the SDK is essential.
    Essential,
    /// Allowed: the user granted its category (and tracking, where it needs it).
    Granted,
    /// Denied: the user has not decided yet.
    NoDecision,
    /// Denied: the user refused its category.
    Refused,
    /// Denied: the decision expired.
    Expired,
    /// Denied: the SDK was added to the policy after the user decided; they never saw it.
    NotShownToUser,
    /// Denied: the SDK needs App Tracking Transparency authorization, which is not given.
    TrackingNotAuthorized,
    /// Denied: the policy does not list this SDK id.
    UnknownSdk,
}

impl VerdictReason {
    /// The id used in logs, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictReason::Essential => "essential",
            VerdictReason::Granted => "granted",
            VerdictReason::NoDecision => "no_decision",
            VerdictReason::Refused => "refused",
            VerdictReason::Expired => "expired",
            VerdictReason::NotShownToUser => "not_shown_to_user",
            VerdictReason::TrackingNotAuthorized => "tracking_not_authorized",
            VerdictReason::UnknownSdk => "unknown_sdk",
        }
    }
}

/// The gate's answer for one SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Record)]
pub struct Verdict {
    /// Whether the SDK may start now.
    pub allowed: bool,
    /// Why.
    pub reason: VerdictReason,
}

impl Verdict {
    pub const fn allow(reason: VerdictReason) -> Verdict {
        Verdict {
            allowed: true,
            reason,
        }
    }
    pub const fn deny(reason: VerdictReason) -> Verdict {
        Verdict {
            allowed: false,
            reason,
        }
    }
}

/// The operating system's tracking authorization (iOS App Tracking Transparency). Read from the OS at
/// each launch and never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, uniffi::Enum)]
pub enum TrackingAuthorization {
    /// Not reported yet, or the user has not been asked: tracking is not allowed.
    #[default]
    NotDetermined,
    /// Tracking is restricted on this device (parental controls, MDM).
    Restricted,
    /// The user refused tracking.
    Denied,
    /// The user allowed tracking.
    Authorized,
    /// The platform has no such permission (Android): the consent categories alone decide.
    NotApplicable,
}

impl TrackingAuthorization {
    /// Whether an SDK that needs tracking authorization may run (given its category is granted).
    pub fn permits_tracking(self) -> bool {
        matches!(
            self,
            TrackingAuthorization::Authorized | TrackingAuthorization::NotApplicable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrackingAuthorization::NotDetermined => "not_determined",
            TrackingAuthorization::Restricted => "restricted",
            TrackingAuthorization::Denied => "denied",
            TrackingAuthorization::Authorized => "authorized",
            TrackingAuthorization::NotApplicable => "not_applicable",
        }
    }

    pub fn parse(s: &str) -> Option<TrackingAuthorization> {
        [
            TrackingAuthorization::NotDetermined,
            TrackingAuthorization::Restricted,
            TrackingAuthorization::Denied,
            TrackingAuthorization::Authorized,
            TrackingAuthorization::NotApplicable,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// Where the latest decision stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    /// No decision, or one made under another policy id.
    None,
    /// A decision older than the consent lifetime.
    Expired(&'a Decision),
    /// A decision in force.
    Current(&'a Decision),
}

/// The rules applied to one decision at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation<'a> {
    pub standing: Standing<'a>,
    /// The categories in force: essential always, the others only under a current decision.
    pub grants: Grants,
    pub prompt: Option<PromptReason>,
    /// When the decision stops counting.
    pub expires_at_ms: Option<i64>,
    /// When a decision that refused something should be asked again.
    pub reprompt_at_ms: Option<i64>,
}

impl Evaluation<'_> {
    pub fn decision(&self) -> Option<&Decision> {
        match self.standing {
            Standing::None => None,
            Standing::Expired(d) | Standing::Current(d) => Some(d),
        }
    }

    /// The first time after `now_ms` at which this evaluation changes by the passing of time alone.
    pub fn next_change_ms(&self, now_ms: i64) -> Option<i64> {
        [self.expires_at_ms, self.reprompt_at_ms]
            .into_iter()
            .flatten()
            .filter(|t| *t > now_ms)
            .min()
    }
}

/// Applies the rules to the latest decision at `now_ms`.
pub fn evaluate<'a>(policy: &Policy, latest: Option<&'a Decision>, now_ms: i64) -> Evaluation<'a> {
    let decision = match latest {
        Some(d) if d.policy_id == policy.id => d,
        _ => {
            return Evaluation {
                standing: Standing::None,
                grants: Grants::NONE,
                prompt: Some(PromptReason::NoDecision),
                expires_at_ms: None,
                reprompt_at_ms: None,
            }
        }
    };
    let expires_at_ms = days_after(decision.decided_at_ms, policy.consent_lifetime_days);
    if now_ms >= expires_at_ms {
        return Evaluation {
            standing: Standing::Expired(decision),
            grants: Grants::NONE,
            prompt: Some(PromptReason::Expired),
            expires_at_ms: Some(expires_at_ms),
            reprompt_at_ms: None,
        };
    }
    let reprompt_at_ms = decision
        .grants
        .any_refused()
        .then(|| days_after(decision.decided_at_ms, policy.refusal_reprompt_days));
    let prompt = if decision.policy_revision < policy.revision {
        Some(PromptReason::PolicyChanged)
    } else if reprompt_at_ms.is_some_and(|t| now_ms >= t) {
        Some(PromptReason::RefusalReminder)
    } else {
        None
    };
    Evaluation {
        standing: Standing::Current(decision),
        grants: decision.grants,
        prompt,
        expires_at_ms: Some(expires_at_ms),
        reprompt_at_ms,
    }
}

/// The gate's verdict for one SDK under an evaluation and a tracking status.
pub fn verdict(
    policy: &Policy,
    evaluation: &Evaluation<'_>,
    sdk_id: &str,
    tracking: TrackingAuthorization,
) -> Verdict {
    let Some(sdk) = policy.sdk(sdk_id) else {
        return Verdict::deny(VerdictReason::UnknownSdk);
    };
    if sdk.category == Category::Essential {
        return Verdict::allow(VerdictReason::Essential);
    }
    let decision = match evaluation.standing {
        Standing::None => return Verdict::deny(VerdictReason::NoDecision),
        Standing::Expired(_) => return Verdict::deny(VerdictReason::Expired),
        Standing::Current(d) => d,
    };
    if !evaluation.grants.get(sdk.category) {
        return Verdict::deny(VerdictReason::Refused);
    }
    if !decision.sdks_shown.iter().any(|shown| shown == sdk_id) {
        return Verdict::deny(VerdictReason::NotShownToUser);
    }
    if sdk.requires_tracking_authorization && !tracking.permits_tracking() {
        return Verdict::deny(VerdictReason::TrackingNotAuthorized);
    }
    Verdict::allow(VerdictReason::Granted)
}

/// A verdict computed earlier, read at `now_ms`: a grant does not outlive the decision's expiry, even
/// before the snapshot it came from is recomputed.
pub fn verdict_at(verdict: Verdict, expires_at_ms: Option<i64>, now_ms: i64) -> Verdict {
    match expires_at_ms {
        Some(expiry) if verdict.reason == VerdictReason::Granted && now_ms >= expiry => {
            Verdict::deny(VerdictReason::Expired)
        }
        _ => verdict,
    }
}

#[cfg(test)]
mod tests;
