//! The message the consent page sends through the platform bridge, validated as untrusted input,
//! and the token that ties it to a page this store rendered.
//!
//! A message is a JSON object of at most [`MAX_MESSAGE_BYTES`]:
//! `{"type":"kmer-consent/ui","version":1,"token":"…","action":"save","choices":{"statistics":true,
//! "personalization":false,"marketing":false}}`. `action` is `accept_all`, `reject_all`, `dismiss`,
//! `save` or `close`; `choices` comes with `save` only, and names each optional category exactly once.
//! Anything else (another field, a wrong type, an unknown action or category, a token this store did
//! not issue for the policy in force, or one older than [`TOKEN_LIFETIME_MS`]) is refused and records
//! nothing.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::category::{Category, Grants};

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// How long a rendered page can be answered: a day.
pub const TOKEN_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;
/// How far ahead of this device's clock a token may claim to be issued (clock steps).
const TOKEN_SKEW_MS: i64 = 60 * 1000;
const MESSAGE_TYPE: &str = "kmer-consent/ui";

/// What the user did on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiAction {
    AcceptAll,
    RejectAll,
    /// "Continue without accepting" (or closing the banner): a refusal.
    Dismiss,
    /// A custom choice from the preferences.
    Save(Grants),
    /// The preferences, opened from the app's settings, closed without saving: nothing to record.
    Close,
}

/// A validated message: the action, and the token to check against the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiMessage {
    pub action: UiAction,
    pub token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    version: u32,
    token: String,
    action: String,
    #[serde(default)]
    choices: Option<BTreeMap<String, bool>>,
}

/// Parses and validates a bridge message (not yet its token).
pub fn parse(message: &str) -> Result<UiMessage, String> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "the message is {} bytes; at most {MAX_MESSAGE_BYTES} are accepted",
            message.len()
        ));
    }
    let raw: Raw =
        serde_json::from_str(message).map_err(|e| format!("not a bridge message: {e}"))?;
    if raw.kind != MESSAGE_TYPE || raw.version != 1 {
        return Err(format!(
            "unsupported message {:?} version {}",
            raw.kind, raw.version
        ));
    }
    let action = match (raw.action.as_str(), raw.choices) {
        ("accept_all", None) => UiAction::AcceptAll,
        ("reject_all", None) => UiAction::RejectAll,
        ("dismiss", None) => UiAction::Dismiss,
        ("close", None) => UiAction::Close,
        ("save", Some(choices)) => UiAction::Save(grants(&choices)?),
        ("save", None) => return Err("save needs its choices".into()),
        ("accept_all" | "reject_all" | "dismiss" | "close", Some(_)) => {
            return Err(format!("{} takes no choices", raw.action))
        }
        (other, _) => return Err(format!("unknown action {other:?}")),
    };
    Ok(UiMessage {
        action,
        token: raw.token,
    })
}

/// The choices of a save: each optional category exactly once, nothing else (essential is always
/// granted and cannot be chosen).
fn grants(choices: &BTreeMap<String, bool>) -> Result<Grants, String> {
    let mut grants = Grants::NONE;
    for (name, granted) in choices {
        let category = Category::OPTIONAL
            .into_iter()
            .find(|c| crate::page::category_id(*c) == name)
            .ok_or_else(|| format!("unknown or fixed category {name:?} in choices"))?;
        grants.set(category, *granted);
    }
    if choices.len() != Category::OPTIONAL.len() {
        return Err("choices must name statistics, personalization and marketing".into());
    }
    Ok(grants)
}

/// What a page showed: the policy, and the locale of its texts (recorded with the decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown<'a> {
    pub policy_id: &'a str,
    pub revision: u32,
    pub locale: &'a str,
}

/// The token a page carries: when it was issued, its locale, and a MAC over both and the policy it
/// shows, keyed by a secret of this store (`<issued_at_ms>.<locale>.<32 hex digits>`).
pub fn issue(key: &[u8; 32], shown: Shown<'_>, issued_at_ms: i64) -> String {
    format!(
        "{issued_at_ms}.{}.{}",
        shown.locale,
        mac(key, shown, issued_at_ms)
    )
}

/// Checks a token against the policy in force at `now_ms`; returns the locale the page showed.
pub fn check(
    key: &[u8; 32],
    token: &str,
    policy_id: &str,
    revision: u32,
    now_ms: i64,
) -> Result<String, String> {
    let refused =
        || "the page token was not issued by this store for the policy in force".to_owned();
    let mut parts = token.splitn(3, '.');
    let (Some(issued), Some(locale), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(refused());
    };
    let issued_at_ms: i64 = issued.parse().map_err(|_| refused())?;
    let shown = Shown {
        policy_id,
        revision,
        locale,
    };
    if !constant_time_eq(tag.as_bytes(), mac(key, shown, issued_at_ms).as_bytes()) {
        return Err(refused());
    }
    if issued_at_ms > now_ms + TOKEN_SKEW_MS || now_ms - issued_at_ms > TOKEN_LIFETIME_MS {
        return Err("the page has expired: render it again".into());
    }
    Ok(locale.to_owned())
}

fn mac(key: &[u8; 32], shown: Shown<'_>, issued_at_ms: i64) -> String {
    let Shown {
        policy_id,
        revision,
        locale,
    } = shown;
    let message = format!("{MESSAGE_TYPE}\n{policy_id}\n{revision}\n{locale}\n{issued_at_ms}");
    let tag = hmac_sha256(key, message.as_bytes());
    tag[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        inner_pad[i] ^= k;
        outer_pad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The key for a store's tokens, derived from its random id (`None`: a key for this process only).
pub fn key_for_store(store_id: Option<i64>) -> [u8; 32] {
    let seed = store_id.unwrap_or_else(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.finish() as i64
    });
    Sha256::new()
        .chain_update(b"kmer-consent/ui-token-key\n")
        .chain_update(seed.to_le_bytes())
        .finalize()
        .into()
}

#[cfg(test)]
mod tests;
