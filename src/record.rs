//! A recorded decision: what the user chose, when, how, and what they were shown.
//!
//! **The record's fields are written out once**, in [`Decision::fields`] (each field's name and value)
//! and read back once, in [`Decision::read`] (each field by its name). The name is both the column of
//! the store's `decisions` table and the key of the body a record's hash covers, and every medium
//! spells each kind of value ([`Cell`]) one way: the store writes and reads its rows by column name
//! from these two functions (`store/rows.rs`), the hash covers the body [`crate::proof::record_body`]
//! builds from them, receipts carry that body, and an import reads it back through the same
//! [`Decision::read`] ([`crate::proof::record_from_body`]). Adding a field is then: the struct, those
//! two functions, a migration step and the current schema (`store/schema.sql`), and the app's view
//! [`ConsentRecord`] (a UniFFI record: its own struct). A field added to [`Decision::fields`] also
//! enters every record's hash: records already stored would no longer verify
//! (`tests/stored_hashes.rs` fails), so a new field needs a way to leave older records' bodies as
//! they were.

use std::collections::HashMap;

use crate::category::{Category, Grants};
use crate::tracking::TrackingAuthorization;

/// `[a-z0-9_.-]{1,64}`: the ids of policies and SDKs, as policies declare them and records carry
/// them.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

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
    /// "Accept all" on the SDK's own consent page, either layer (stored as `banner_accept_all`: the
    /// stored ids are part of every record's hash and keep their first names).
    PageAcceptAll,
    /// "Reject all" on the SDK's own consent page, either layer (stored as `banner_reject_all`).
    PageRejectAll,
    /// "Continue without accepting" on the page's banner: a refusal (stored as `banner_dismiss`).
    PageDismiss,
    /// A custom choice saved on the page's preferences layer (stored as `settings_save`).
    PageSave,
}

impl DecisionSource {
    /// The id stored in the record (and hashed with it), shown by the CLI and in receipts.
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
            DecisionSource::PageAcceptAll => "banner_accept_all",
            DecisionSource::PageRejectAll => "banner_reject_all",
            DecisionSource::PageDismiss => "banner_dismiss",
            DecisionSource::PageSave => "settings_save",
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
            DecisionSource::PageAcceptAll,
            DecisionSource::PageRejectAll,
            DecisionSource::PageDismiss,
            DecisionSource::PageSave,
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
                | DecisionSource::PageRejectAll
                | DecisionSource::PageDismiss
                | DecisionSource::SubjectLink
        )
    }

    /// Whether a record with this source must grant everything.
    pub fn grants_everything(self) -> bool {
        matches!(
            self,
            DecisionSource::AcceptAll | DecisionSource::PageAcceptAll
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

/// A field's value, in the kinds every medium of a record spells one way each: the store (a column of
/// `decisions`) and the body a record's hash covers (a JSON value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// `INTEGER`; a number.
    Int(i64),
    /// `TEXT`; a string.
    Text(&'a str),
    /// A text that may be absent: `TEXT` or `NULL`; a string or null.
    Maybe(Option<&'a str>),
    /// A status that may be absent: `TEXT`, `''` when absent (a column that schema version 2 added
    /// `NOT NULL DEFAULT ''`); a string or null.
    Status(Option<&'a str>),
    /// One category's grant: a column of its own, 0 or 1; a boolean under the body's `categories`.
    Grant(bool),
    /// A list of ids: `TEXT` holding a JSON list; a list.
    Ids(&'a [String]),
}

/// Where a decision record is read from, each field by its name, one method per kind of [`Cell`]:
/// a row of `decisions`, or a record body a receipt carries.
pub trait Fields {
    /// What goes wrong reading it; what [`Decision::read`] itself finds wrong is a `String`.
    type Error: From<String>;
    fn int(&self, name: &'static str) -> Result<i64, Self::Error>;
    fn text(&self, name: &'static str) -> Result<String, Self::Error>;
    fn maybe(&self, name: &'static str) -> Result<Option<String>, Self::Error>;
    fn status(&self, name: &'static str) -> Result<Option<String>, Self::Error>;
    fn grant(&self, name: &'static str) -> Result<bool, Self::Error>;
    fn ids(&self, name: &'static str) -> Result<Vec<String>, Self::Error>;
}

impl Decision {
    /// Every field of the record, by name: what the store writes (one column each) and what the
    /// record's hash covers (all of them but `record_hash`). The one place the record is written out.
    pub fn fields(&self) -> [(&'static str, Cell<'_>); 18] {
        [
            ("id", Cell::Int(self.id)),
            ("decided_at_ms", Cell::Int(self.decided_at_ms)),
            ("policy_id", Cell::Text(&self.policy_id)),
            ("policy_revision", Cell::Int(self.policy_revision.into())),
            ("source", Cell::Text(self.source.as_str())),
            ("locale", Cell::Text(&self.locale)),
            ("statistics", Cell::Grant(self.grants.statistics)),
            ("personalization", Cell::Grant(self.grants.personalization)),
            ("marketing", Cell::Grant(self.grants.marketing)),
            ("sdks_shown", Cell::Ids(&self.sdks_shown)),
            ("policy_hash", Cell::Maybe(self.policy_hash.as_deref())),
            ("sdk_version", Cell::Text(&self.sdk_version)),
            ("app_version", Cell::Text(&self.app_version)),
            (
                "tracking_authorization",
                Cell::Status(
                    self.tracking_authorization
                        .map(TrackingAuthorization::as_str),
                ),
            ),
            ("prev_hash", Cell::Text(&self.prev_hash)),
            ("record_hash", Cell::Text(&self.record_hash)),
            ("subject", Cell::Text(&self.subject)),
            ("origin_hash", Cell::Maybe(self.origin_hash.as_deref())),
        ]
    }

    /// Reads a record field by field, as [`Decision::fields`] names them: the one place it is read
    /// back. Checks what any record must be (a known source and tracking status, a revision that
    /// fits); what a record from elsewhere must also be is the importer's to check.
    pub fn read<F: Fields>(f: &F) -> Result<Decision, F::Error> {
        let revision = f.int("policy_revision")?;
        let tracking_authorization = match f.status("tracking_authorization")? {
            None => None,
            Some(t) => Some(
                TrackingAuthorization::parse(&t)
                    .ok_or_else(|| "unknown record.tracking_authorization".to_owned())?,
            ),
        };
        Ok(Decision {
            id: f.int("id")?,
            decided_at_ms: f.int("decided_at_ms")?,
            policy_id: f.text("policy_id")?,
            policy_revision: u32::try_from(revision)
                .map_err(|_| format!("record.policy_revision {revision} is out of range"))?,
            source: DecisionSource::parse(&f.text("source")?)
                .ok_or_else(|| "unknown record.source".to_owned())?,
            locale: f.text("locale")?,
            grants: Grants {
                statistics: f.grant("statistics")?,
                personalization: f.grant("personalization")?,
                marketing: f.grant("marketing")?,
            },
            sdks_shown: f.ids("sdks_shown")?,
            policy_hash: f.maybe("policy_hash")?,
            sdk_version: f.text("sdk_version")?,
            app_version: f.text("app_version")?,
            tracking_authorization,
            prev_hash: f.text("prev_hash")?,
            record_hash: f.text("record_hash")?,
            subject: f.text("subject")?,
            origin_hash: f.maybe("origin_hash")?,
        })
    }

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

#[cfg(test)]
impl Decision {
    /// Every field a value of its own, so that two fields swapped between writing and reading show.
    pub(crate) fn example() -> Decision {
        Decision {
            id: 7,
            decided_at_ms: 1_780_000_000_000,
            policy_id: "policy".into(),
            policy_revision: 3,
            source: DecisionSource::Save,
            locale: "fr".into(),
            grants: Grants {
                statistics: true,
                personalization: false,
                marketing: false,
            },
            sdks_shown: vec!["a".into(), "b".into()],
            policy_hash: Some("policy-hash".into()),
            sdk_version: "0.1.0".into(),
            app_version: "5.2.0".into(),
            tracking_authorization: Some(TrackingAuthorization::Denied),
            subject: "account-1".into(),
            origin_hash: Some("origin".into()),
            prev_hash: "prev".into(),
            record_hash: "hash".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A record's fields as a medium: each name's cell, exactly as written.
    struct Written<'a>(HashMap<&'static str, Cell<'a>>);

    impl Fields for Written<'_> {
        type Error = String;
        fn int(&self, name: &'static str) -> Result<i64, String> {
            match self.0.get(name) {
                Some(Cell::Int(i)) => Ok(*i),
                other => Err(format!("{name}: {other:?}")),
            }
        }
        fn text(&self, name: &'static str) -> Result<String, String> {
            match self.0.get(name) {
                Some(Cell::Text(t)) => Ok((*t).to_owned()),
                other => Err(format!("{name}: {other:?}")),
            }
        }
        fn maybe(&self, name: &'static str) -> Result<Option<String>, String> {
            match self.0.get(name) {
                Some(Cell::Maybe(t)) => Ok(t.map(str::to_owned)),
                other => Err(format!("{name}: {other:?}")),
            }
        }
        fn status(&self, name: &'static str) -> Result<Option<String>, String> {
            match self.0.get(name) {
                Some(Cell::Status(t)) => Ok(t.map(str::to_owned)),
                other => Err(format!("{name}: {other:?}")),
            }
        }
        fn grant(&self, name: &'static str) -> Result<bool, String> {
            match self.0.get(name) {
                Some(Cell::Grant(g)) => Ok(*g),
                other => Err(format!("{name}: {other:?}")),
            }
        }
        fn ids(&self, name: &'static str) -> Result<Vec<String>, String> {
            match self.0.get(name) {
                Some(Cell::Ids(ids)) => Ok(ids.to_vec()),
                other => Err(format!("{name}: {other:?}")),
            }
        }
    }

    #[test]
    fn a_record_reads_back_from_its_fields_as_it_was_and_each_field_is_named_once() {
        // Each grant alone, so that two grants swapped show too; and every optional field absent.
        let grants = |statistics, personalization, marketing| Grants {
            statistics,
            personalization,
            marketing,
        };
        for d in [
            Decision::example(),
            Decision {
                grants: grants(false, true, false),
                policy_hash: None,
                origin_hash: None,
                tracking_authorization: None,
                ..Decision::example()
            },
            Decision {
                grants: grants(false, false, true),
                ..Decision::example()
            },
        ] {
            let fields = d.fields();
            let written = Written(fields.into_iter().collect());
            assert_eq!(written.0.len(), fields.len(), "a name written twice");
            assert_eq!(Decision::read(&written), Ok(d));
        }
    }
}
