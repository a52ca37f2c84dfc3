//! A recorded decision: what the user chose, when, how, and what they were shown.

use std::collections::HashMap;

use crate::category::{Category, Grants};
use crate::tracking::TrackingAuthorization;

/// The explicit action that recorded a decision. Nothing else records one: a banner shown and never
/// answered records nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum DecisionSource {
    /// "Accept all": every category granted.
    AcceptAll,
    /// "Reject all": every optional category refused.
    RejectAll,
    /// A custom choice saved from the preferences screen.
    Save,
    /// Consent withdrawn: every optional category refused.
    Withdraw,
    /// The banner was closed ("continue without accepting"): a refusal, as CNIL requires.
    Dismiss,
    /// A user who logged in with no decision of their own took the device's refusal, so as not to be
    /// asked twice. Never a grant; it stays on the device (never sent to the back end).
    SubjectLink,
    /// Applied from a receipt another device recorded for the same user, witnessed by the back end.
    Import,
    /// Another device's decision that could not be ordered against this device's (not yet
    /// witnessed): each category keeps the more restrictive of the two choices.
    ImportMerged,
    /// "Accept all" on the SDK's own consent page (either layer).
    BannerAcceptAll,
    /// "Reject all" on the SDK's own consent page (either layer).
    BannerRejectAll,
    /// "Continue without accepting" on the SDK's own banner: a refusal.
    BannerDismiss,
    /// A custom choice saved on the SDK's own preferences page.
    SettingsSave,
}

impl DecisionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::AcceptAll => "accept_all",
            DecisionSource::RejectAll => "reject_all",
            DecisionSource::Save => "save",
            DecisionSource::Withdraw => "withdraw",
            DecisionSource::Dismiss => "dismiss",
            DecisionSource::SubjectLink => "subject_link",
            DecisionSource::Import => "import",
            DecisionSource::ImportMerged => "import_merged",
            DecisionSource::BannerAcceptAll => "banner_accept_all",
            DecisionSource::BannerRejectAll => "banner_reject_all",
            DecisionSource::BannerDismiss => "banner_dismiss",
            DecisionSource::SettingsSave => "settings_save",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionSource> {
        [
            DecisionSource::AcceptAll,
            DecisionSource::RejectAll,
            DecisionSource::Save,
            DecisionSource::Withdraw,
            DecisionSource::Dismiss,
            DecisionSource::SubjectLink,
            DecisionSource::Import,
            DecisionSource::ImportMerged,
            DecisionSource::BannerAcceptAll,
            DecisionSource::BannerRejectAll,
            DecisionSource::BannerDismiss,
            DecisionSource::SettingsSave,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }

    /// Whether a record with this source must grant nothing (the explicit refusals).
    pub fn refuses_everything(self) -> bool {
        matches!(
            self,
            DecisionSource::RejectAll
                | DecisionSource::Withdraw
                | DecisionSource::Dismiss
                | DecisionSource::BannerRejectAll
                | DecisionSource::BannerDismiss
                | DecisionSource::SubjectLink
        )
    }

    /// Whether a record with this source must grant everything.
    pub fn grants_everything(self) -> bool {
        matches!(
            self,
            DecisionSource::AcceptAll | DecisionSource::BannerAcceptAll
        )
    }

    /// Whether the app's back end should hear of it: decisions made on this device. Imports came
    /// from there; adoptions at login are not the user's choice and stay here.
    pub fn goes_to_back_end(self) -> bool {
        !matches!(self, DecisionSource::Import | DecisionSource::SubjectLink)
    }
}

/// A decision as the core holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Row id in the store; increases with every decision.
    pub id: i64,
    pub decided_at_ms: i64,
    pub policy_id: String,
    pub policy_revision: u32,
    pub source: DecisionSource,
    pub locale: String,
    pub grants: Grants,
    /// The SDK ids the policy listed when the user decided: a grant covers only these.
    pub sdks_shown: Vec<String>,
    /// SHA-256 of the canonical policy JSON the user saw (stored once in `policies`); `None` for
    /// records written before schema version 2.
    pub policy_hash: Option<String>,
    /// The SDK and app versions that recorded it (empty before schema version 2).
    pub sdk_version: String,
    pub app_version: String,
    /// The tracking authorization (iOS ATT) in force when the decision was made; `None` before
    /// schema version 2.
    pub tracking_authorization: Option<TrackingAuthorization>,
    /// Whose decision it is: an account id the app passed, or `""` for the anonymous device.
    pub subject: String,
    /// For a decision imported from another device: the record hash it had there.
    pub origin_hash: Option<String>,
    /// The previous record's hash ([`crate::proof::GENESIS`] for the first) and this record's.
    pub prev_hash: String,
    pub record_hash: String,
}

impl Decision {
    /// The hash the back end's witness of this record names: for an imported decision its hash on
    /// the device that made it (the back end signed that one), for every other its own.
    pub fn witness_hash(&self) -> &str {
        match (&self.origin_hash, self.source) {
            (Some(origin), DecisionSource::Import) => origin,
            _ => &self.record_hash,
        }
    }
}

/// Facts about decisions that moving the clock back must not undo, each as "every decision with an
/// id up to this one": it has expired (or was found dated in the future), and its refusal reminder
/// has fallen due. Kept in the store; 0 when nothing has happened yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeMarks {
    pub expired_through_id: i64,
    pub reminded_through_id: i64,
}

impl TimeMarks {
    pub fn expired(&self, decision: &Decision) -> bool {
        decision.id <= self.expired_through_id
    }

    pub fn reminded(&self, decision: &Decision) -> bool {
        decision.id <= self.reminded_through_id
    }

    /// The marks after an evaluation has seen `decision` expired and/or its reminder due (at a
    /// trusted time). Never lowers a mark.
    pub fn raised(self, decision: &Decision, expired: bool, reminded: bool) -> TimeMarks {
        TimeMarks {
            expired_through_id: if expired {
                self.expired_through_id.max(decision.id)
            } else {
                self.expired_through_id
            },
            reminded_through_id: if reminded {
                self.reminded_through_id.max(decision.id)
            } else {
                self.reminded_through_id
            },
        }
    }
}

/// One entry of the consent history, as the app sees it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentRecord {
    /// Increases with every decision.
    pub id: i64,
    /// When the decision was made, in milliseconds since the Unix epoch (UTC).
    pub decided_at_ms: i64,
    /// The policy the user saw.
    pub policy_id: String,
    pub policy_revision: u32,
    /// How the decision was made.
    pub source: DecisionSource,
    /// The locale the user saw the texts in.
    pub locale: String,
    /// Each of the four categories and whether it was granted.
    pub categories: HashMap<Category, bool>,
    /// The SDK ids listed in the policy the user saw.
    pub sdks_shown: Vec<String>,
    /// SHA-256 (hex) of the canonical JSON of the policy the user saw; absent for old records.
    pub policy_hash: Option<String>,
    /// The SDK version that recorded it.
    pub sdk_version: String,
    /// The app version that recorded it (as the app passed it at open).
    pub app_version: String,
    /// The tracking authorization (iOS ATT) when it was made; absent for old records.
    pub tracking_authorization: Option<TrackingAuthorization>,
    /// Whose decision it is: the account id the app passed, or empty for the anonymous device.
    pub subject: String,
    /// For a decision imported from another device, its record hash there.
    pub origin_hash: Option<String>,
    /// The previous record's hash (64 zeros for the first).
    pub prev_hash: String,
    /// This record's hash: SHA-256 of its canonical encoding, chained to `prev_hash`.
    pub record_hash: String,
    /// When the app's back end witnessed it (its signed acknowledgement, or for an import the
    /// signature it came with), in ms since the Unix epoch on the back end's clock; `None` until then.
    pub witnessed_at_ms: Option<i64>,
}

impl ConsentRecord {
    /// The record of `d`, witnessed by the back end at `witnessed_at_ms` (if it was).
    pub(crate) fn new(d: &Decision, witnessed_at_ms: Option<i64>) -> Self {
        ConsentRecord {
            id: d.id,
            decided_at_ms: d.decided_at_ms,
            policy_id: d.policy_id.clone(),
            policy_revision: d.policy_revision,
            source: d.source,
            locale: d.locale.clone(),
            categories: d.grants.to_map(),
            sdks_shown: d.sdks_shown.clone(),
            policy_hash: d.policy_hash.clone(),
            sdk_version: d.sdk_version.clone(),
            app_version: d.app_version.clone(),
            tracking_authorization: d.tracking_authorization,
            subject: d.subject.clone(),
            origin_hash: d.origin_hash.clone(),
            prev_hash: d.prev_hash.clone(),
            record_hash: d.record_hash.clone(),
            witnessed_at_ms,
        }
    }
}
