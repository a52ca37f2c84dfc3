//! A recorded decision: what the user chose, when, how, and what they were shown.

use std::collections::HashMap;

use crate::category::{Category, Grants};

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
}

impl DecisionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::AcceptAll => "accept_all",
            DecisionSource::RejectAll => "reject_all",
            DecisionSource::Save => "save",
            DecisionSource::Withdraw => "withdraw",
            DecisionSource::Dismiss => "dismiss",
        }
    }

    pub fn parse(s: &str) -> Option<DecisionSource> {
        [
            DecisionSource::AcceptAll,
            DecisionSource::RejectAll,
            DecisionSource::Save,
            DecisionSource::Withdraw,
            DecisionSource::Dismiss,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
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
}

impl From<&Decision> for ConsentRecord {
    fn from(d: &Decision) -> Self {
        ConsentRecord {
            id: d.id,
            decided_at_ms: d.decided_at_ms,
            policy_id: d.policy_id.clone(),
            policy_revision: d.policy_revision,
            source: d.source,
            locale: d.locale.clone(),
            categories: d.grants.to_map(),
            sdks_shown: d.sdks_shown.clone(),
        }
    }
}
