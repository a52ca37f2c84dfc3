//! KmerConsent: the consent SDK core shared by KmerOccase's Android and iOS apps.
//!
//! Four categories (essential, statistics, personalization, marketing), the user's decisions in
//! SQLite, and the gate every ad and analytics SDK passes before it starts. Exported to Kotlin and
//! Swift with UniFFI; see `ARCHITECTURE.md` for how the pieces fit.
//!
//! ```
//! use kmer_consent::{Category, ConsentManager, ConsentOptions, VerdictReason};
//!
//! let dir = tempfile::tempdir()?;
//! let policy = include_str!("../policies/kmeroccase.json");
//! let db = dir.path().join("consent.db").display().to_string();
//! let consent = ConsentManager::open(ConsentOptions {
//!     database_path: db,
//!     policy_json: policy.into(),
//!     locale: "fr-CM".into(),
//!     app_version: "5.2.0".into(),
//!     tracking_authorization: None,
//!     backend_public_key: None,
//!     account_id: None,
//! })?;
//!
//! // Nothing optional runs before the user decides.
//! assert!(consent.status().needs_prompt);
//! assert!(!consent.can_start("firebase_analytics".into()));
//!
//! // The user keeps statistics and refuses the rest.
//! consent.save([(Category::Statistics, true)].into())?;
//! assert!(consent.can_start("firebase_analytics".into()));
//! assert_eq!(consent.check("google_mobile_ads".into()).reason, VerdictReason::Refused);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Input, disk and clock never reach an unwrap: errors are values all the way to the FFI.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

uniffi::setup_scaffolding!();

// The vocabulary every layer speaks (no rule, no I/O).
mod category; // the four categories and a choice over them
mod clock; // wall-clock time, injected
mod error; // the internal error and the public `KmerConsentError`, mapped in one place
mod locale; // device locale → policy locale
mod record; // the decision record: its fields once, for rows, hashes and receipts
mod tracking; // the OS tracking status (ATT)

// What the app gives: the policy, validated.
mod policy;

// The consent rules: pure functions over values.
mod rules;

// Features, each a folder where it spans files.
mod page; // the consent page: content, HTML, the message it posts, its token
mod proof; // canonical encoding and hashes, receipts, the back end's witness
mod signals; // Google Consent Mode, IAB TCF, the key-value entries ad SDKs read
mod store; // the SQLite file: open and recovery, schema and migrations, rows, chain

// The machinery: the snapshot the gate answers from, delivery, the timer, randomness.
mod dispatch; // listeners, SDK start/stop, the platform mirror
mod locks; // mutexes that survive a poisoned lock
mod random; // secure random bytes or a typed error
mod scheduler; // the one timer: expiry republish and the watch for other processes
mod snapshot; // the immutable snapshot and the gate

// The exported shell: `ConsentManager`, what Kotlin and Swift call; and a policy file checked
// against a store's history before it ships (the CLI's `policy check --against`).
mod manager;
mod policy_check;

pub use category::{Category, Grants};
pub use clock::{Clock, ManualClock, SystemClock, DAY_MS};
pub use dispatch::{ConsentListener, SdkLifecycle, SnapshotMirror, Subscription};
pub use error::{Error, KmerConsentError, PolicyError};
pub use locale::negotiate as negotiate_locale;
pub use manager::{ConsentManager, ConsentOptions, OpenOptions, PendingReceipt};
pub use page::ConsentPageLayer;
pub use page::{Banner, BannerCategory, BannerSdk, MAX_MESSAGE_BYTES, TOKEN_LIFETIME_MS};
pub use policy::{
    ConsentModeMapping, Controller, Policy, PolicyText, Sdk, TcfConfig, TcfPurposes,
    MAX_POLICY_BYTES,
};
pub use policy_check::{check_against as check_policy_against, StoredText};
pub use proof::receipt::{
    verify_receipt, verify_receipt_with_key, ReceiptCheck, MAX_RECEIPT_BYTES, RECEIPT_SCHEMA,
};
pub use proof::witness::{BackendKey, Witness, MAX_ACKNOWLEDGEMENT_BYTES, WITNESS_SCHEMA};
pub use proof::{canonical_json, sha256_hex, GENESIS, SDK_VERSION};
pub use record::{ConsentRecord, DecisionSource};
pub use rules::coverage::PolicyChange;
pub use rules::{may_request_tracking, PromptReason, Verdict, VerdictReason};
pub use scheduler::TaskHandle;
pub use signals::tcf;
pub use signals::{
    iab_tcf_changes, ConsentModeSignals, IabTcfChanges, StoredEntry, StoredValue, IAB_TCF_PREFIX,
};
pub use snapshot::{not_ready_snapshot, ConsentSnapshot, ConsentStatus};
pub use store::HistoryCheck;
pub use tracking::TrackingAuthorization;
