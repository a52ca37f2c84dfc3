//! The consent rules, in one place: pure functions over values (a policy, a decision, the tracking
//! status, a time). No I/O and no clock of their own: every rule is tested by passing its inputs in.
//! The manager only loads, calls these, writes and publishes.
//!
//! - [`time`]: what "now" is, which clocks are trusted, what a clock moved back must not undo.
//! - [`standing`]: whether a decision is in force, and the gate's verdict for each SDK.
//! - [`coverage`]: what a decision made on one policy text covers under the policy in use.
//! - [`page`]: what a message from the consent page may record.
//! - [`sync`]: whether a decision from another device applies, and what login adopts.
//! - [`restriction`]: what a decision the store could not write still does.
//! - [`att`]: when the app may ask the OS for tracking authorization (App Tracking Transparency).
//!
//! The principle every rule follows: only an explicit action of this user, on this device, on the
//! policy text as it was shown, can grant. Everything else may take consent away, never give it.

pub mod att;
pub mod coverage;
pub mod page;
pub mod restriction;
pub mod standing;
pub mod sync;
pub mod time;

pub use att::may_request_tracking;
pub use standing::{evaluate, verdict, verdict_at, Evaluation, Inputs};
// The tracking status is vocabulary below the rules (the record and the store hold it too); named
// here as well, where the rules' callers have always found it.
pub use crate::tracking::TrackingAuthorization;

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
    /// SDKs the user was shown, in the category they were shown in.
    PolicyChanged,
    /// The policy in use has a lower revision than the one the user decided on (an older app, or a
    /// policy rolled back): the decision does not count for it.
    PolicyRolledBack,
    /// The policy in use has the revision the user decided on but other content (edited without a
    /// new revision): the decision does not count for it. Give every change a new revision.
    PolicyEditedInPlace,
    /// The policy text the user decided on was not recorded (records from before schema version 2),
    /// so what they saw cannot be shown: the decision does not count.
    PolicyNotRecorded,
    /// The device clock reads outside 2020–2100: no time can be trusted, nothing optional is granted
    /// until it is set right.
    ClockUnknown,
    /// The decision is dated later than the device clock (it was made while the clock ran ahead):
    /// it does not count.
    DecisionInTheFuture,
    /// The store's latest record is not what the app's back end witnessed (it was rewritten, or a
    /// later witnessed record was removed, behind the SDK's back): it does not count.
    RecordTampered,
}

impl PromptReason {
    /// The id used in logs, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptReason::NoDecision => "no_decision",
            PromptReason::Expired => "expired",
            PromptReason::RefusalReminder => "refusal_reminder",
            PromptReason::PolicyChanged => "policy_changed",
            PromptReason::PolicyRolledBack => "policy_rolled_back",
            PromptReason::PolicyEditedInPlace => "policy_edited_in_place",
            PromptReason::PolicyNotRecorded => "policy_not_recorded",
            PromptReason::ClockUnknown => "clock_unknown",
            PromptReason::DecisionInTheFuture => "decision_in_the_future",
            PromptReason::RecordTampered => "record_tampered",
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
    /// Denied: the SDK was added to the policy after the user decided (or its vendor ids changed);
    /// they never saw it.
    NotShownToUser,
    /// Denied: the user saw this SDK in another category than the one the policy gives it now.
    ShownInAnotherCategory,
    /// Denied: the decision was made on another text of the policy (rolled back, edited without a
    /// new revision, or not recorded).
    PolicyMismatch,
    /// Denied: the device clock cannot be trusted (outside 2020–2100, or behind the decision).
    ClockNotTrusted,
    /// Denied: the decision on record is not what the app's back end witnessed.
    RecordTampered,
    /// Denied: the SDK needs App Tracking Transparency authorization, which is not given.
    TrackingNotAuthorized,
    /// Denied: the policy does not list this SDK id.
    UnknownSdk,
    /// Denied: the manager was shut down; nothing is allowed any more.
    Closed,
    /// Denied: the Kotlin or Swift SDK is still opening the store in the background
    /// (`openInBackground`); nothing is allowed until it is ready. The core never answers this
    /// itself: it is what the platform layers answer before the core is there to ask.
    NotReady,
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
            VerdictReason::ShownInAnotherCategory => "shown_in_another_category",
            VerdictReason::PolicyMismatch => "policy_mismatch",
            VerdictReason::ClockNotTrusted => "clock_not_trusted",
            VerdictReason::RecordTampered => "record_tampered",
            VerdictReason::TrackingNotAuthorized => "tracking_not_authorized",
            VerdictReason::UnknownSdk => "unknown_sdk",
            VerdictReason::Closed => "closed",
            VerdictReason::NotReady => "not_ready",
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

#[cfg(test)]
pub(crate) mod tests;
