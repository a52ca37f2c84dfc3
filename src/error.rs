//! Errors: rich internal ones for the core, one small public enum for the FFI, mapped in one place.
//!
//! [`KmerConsentError`] is the whole error contract of the SDK on every platform: UniFFI turns it
//! into `KmerConsentException` (a sealed class, one subclass per variant) in Kotlin and the
//! `KmerConsentError` enum in Swift, and its `Display` (exported) is the message both print. The
//! platform layers add no error of their own.

use std::path::{Path, PathBuf};

/// Everything that can go wrong inside the core. Never crosses the FFI: see [`KmerConsentError`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid policy: {0}")]
    Policy(#[from] PolicyError),

    #[error("the essential category is always granted and cannot be refused")]
    EssentialCannotBeRefused,

    #[error("unknown SDK id {0:?}")]
    UnknownSdk(String),

    #[error("receipt refused: {0}")]
    Receipt(String),

    #[error("invalid subject: {0}")]
    Subject(String),

    #[error("consent page message refused: {0}")]
    UiMessage(String),

    #[error("policy update refused: {0}")]
    PolicyUpdate(String),

    #[error("back end key: {0}")]
    BackendKey(String),

    #[error("acknowledgement refused: {0}")]
    Acknowledgement(String),

    #[error("no secure random numbers: {0}")]
    Randomness(String),

    #[error("cannot open the consent database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("cannot use the consent database {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the consent database {path} has schema version {found}, newer than this SDK supports ({supported})")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("the consent database has schema version {0}, which no release of this SDK wrote")]
    SchemaUnknown(i64),

    #[error("consent database error: {0}")]
    Sql(#[from] rusqlite::Error),

    #[error("the consent record {id} is unreadable: {reason}")]
    BadRecord { id: i64, reason: String },

    #[error("the consent manager was shut down")]
    Closed,
}

impl Error {
    /// Whether the store failed (as opposed to the input being refused).
    pub(crate) fn is_storage(&self) -> bool {
        matches!(
            self,
            Error::Open { .. }
                | Error::Io { .. }
                | Error::SchemaTooNew { .. }
                | Error::SchemaUnknown(_)
                | Error::Sql(_)
                | Error::BadRecord { .. }
        )
    }

    pub(crate) fn open(path: &Path, source: rusqlite::Error) -> Self {
        Error::Open {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A policy that was refused, with the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct PolicyError {
    /// Where in the document, e.g. `sdks[2].category`; empty for the document as a whole.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Everything the SDK reports to the app, on every platform. Each carries a reason meant for logs and
/// bug reports, never for end users; the message (`toString()` in Kotlin, `description` in Swift) is
/// this type's `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum KmerConsentError {
    /// The policy JSON was refused. `path` names the field (`sdks[2].category`), empty when the
    /// document itself is malformed (then `reason` gives the line and column).
    #[error("invalid policy: {}{reason}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    InvalidPolicy { path: String, reason: String },

    /// A new policy cannot replace the current one (another policy id).
    #[error("policy update refused: {reason}")]
    PolicyUpdateRefused { reason: String },

    /// The essential category is always granted; a choice that refuses it is rejected.
    #[error("the essential category cannot be refused")]
    EssentialCannotBeRefused,

    /// The SDK id is not listed in the policy.
    #[error("unknown SDK id {sdk_id:?}: the policy does not list it")]
    UnknownSdk { sdk_id: String },

    /// A receipt to import does not verify, carries no valid back end signature, or is not for this
    /// user and policy. Nothing was recorded.
    #[error("receipt refused: {reason}")]
    InvalidReceipt { reason: String },

    /// An account id that cannot name a subject (empty, or longer than 512 bytes).
    #[error("invalid subject: {reason}")]
    InvalidSubject { reason: String },

    /// A message from the consent page was refused (malformed, oversized, an unknown action or
    /// category, or a page token this store did not issue for the policy in force). Nothing was
    /// recorded: render the page again.
    #[error("consent page message refused: {reason}")]
    InvalidUiMessage { reason: String },

    /// The consent database could not be opened, read or written. Nothing was recorded. A decision
    /// that grants nothing new (a refusal, a withdrawal, a narrower choice) does not fail with this:
    /// it takes effect at once and is written later (`status().not_yet_saved`). A choice that grants
    /// and refuses at once fails with this after its refusals took effect; what it grants did not.
    #[error("consent storage error: {reason}")]
    Storage { reason: String },

    /// The call needs the app's back end public key and none was configured at open, or the one
    /// given is not an Ed25519 public key (64 hex digits).
    #[error("back end key: {reason}")]
    BackendKey { reason: String },

    /// A back end acknowledgement was refused: malformed, its signature does not verify under the
    /// configured key, or it names no record of this store. Nothing was stored.
    #[error("acknowledgement refused: {reason}")]
    InvalidAcknowledgement { reason: String },

    /// The operating system's secure random generator failed; no weak key was made in its place.
    #[error("no secure random numbers: {reason}")]
    NoSecureRandomness { reason: String },

    /// The instance was closed (`shutdown`): it records nothing, reads nothing from the store and
    /// allows nothing any more. Open a new one.
    #[error("the consent SDK instance is closed")]
    Closed,
}

impl From<Error> for KmerConsentError {
    fn from(error: Error) -> Self {
        let reason = error.to_string();
        match error {
            Error::Policy(PolicyError { path, message }) => KmerConsentError::InvalidPolicy {
                path,
                reason: message,
            },
            Error::EssentialCannotBeRefused => KmerConsentError::EssentialCannotBeRefused,
            Error::UnknownSdk(sdk_id) => KmerConsentError::UnknownSdk { sdk_id },
            Error::Receipt(reason) => KmerConsentError::InvalidReceipt { reason },
            Error::Subject(reason) => KmerConsentError::InvalidSubject { reason },
            Error::UiMessage(reason) => KmerConsentError::InvalidUiMessage { reason },
            Error::PolicyUpdate(reason) => KmerConsentError::PolicyUpdateRefused { reason },
            Error::BackendKey(reason) => KmerConsentError::BackendKey { reason },
            Error::Acknowledgement(reason) => KmerConsentError::InvalidAcknowledgement { reason },
            Error::Randomness(reason) => KmerConsentError::NoSecureRandomness { reason },
            Error::Closed => KmerConsentError::Closed,
            Error::Open { .. }
            | Error::Io { .. }
            | Error::SchemaTooNew { .. }
            | Error::SchemaUnknown(_)
            | Error::Sql(_)
            | Error::BadRecord { .. } => KmerConsentError::Storage { reason },
        }
    }
}

impl From<PolicyError> for KmerConsentError {
    fn from(error: PolicyError) -> Self {
        Error::Policy(error).into()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
