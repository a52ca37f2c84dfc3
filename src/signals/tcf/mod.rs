//! IAB TCF v2.3: the TC string (core segment and DisclosedVendors segment), its decoder, and the
//! in-app `IABTCF_*` keys and Google Additional Consent string derived from a decision.

mod bits;
mod keys;
mod tc_string;
mod vendor_set;

pub use keys::{tcf_signals, TcfSignals};
pub use tc_string::{PublisherRestriction, PublisherTc, TcModel};
pub use vendor_set::VendorSet;

/// Why a TC string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TcStringError {
    #[error("the TC string is empty")]
    Empty,
    #[error("character {position} is not base64url")]
    InvalidCharacter { position: usize },
    #[error("the string ends inside the field {field}")]
    Truncated { field: &'static str },
    #[error("version {0} is not a TCF v2 string")]
    UnsupportedVersion(u64),
    #[error("segment {index} has unknown type {segment_type}")]
    UnknownSegment { index: usize, segment_type: u64 },
    #[error("{0}")]
    Invalid(String),
}
