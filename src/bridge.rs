//! The message the consent page sends through the platform bridge, validated as untrusted input,
//! and the token that ties it to a page this store rendered.
//!
//! A message is a JSON object of at most [`MAX_MESSAGE_BYTES`]:
//! `{"type":"kmer-consent/ui","version":1,"token":"…","action":"save","choices":{"statistics":true,
//! "personalization":false,"marketing":false}}`. `action` is `accept_all`, `reject_all`, `dismiss`,
//! `save` or `close`; `choices` comes with `save` only (absent or null otherwise), and names each
//! optional category exactly once. Anything else (another field, a wrong type, an unknown action or
//! category, a token this store did not issue for the policy in force, or one older than
//! [`TOKEN_LIFETIME_MS`]) is refused and records nothing.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::category::{Category, Grants};
use crate::page::ConsentPageLayer;

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
    choices: Option<Choices>,
}

/// The three optional categories, each exactly once: an object (not an array), no other, missing or
/// repeated field (essential is always granted and is not a choice).
struct Choices {
    statistics: bool,
    personalization: bool,
    marketing: bool,
}

const CHOICES: [&str; 3] = ["statistics", "personalization", "marketing"];

impl<'de> Deserialize<'de> for Choices {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Choices, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Choices;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object naming statistics, personalization and marketing")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Choices, A::Error> {
                use serde::de::Error;
                let mut seen: [Option<bool>; 3] = [None; 3];
                while let Some(key) = map.next_key::<String>()? {
                    let Some(slot) = CHOICES.iter().position(|c| *c == key) else {
                        return Err(A::Error::unknown_field(&key, &CHOICES));
                    };
                    if seen[slot].is_some() {
                        return Err(A::Error::duplicate_field(CHOICES[slot]));
                    }
                    seen[slot] = Some(map.next_value()?);
                }
                match seen {
                    [Some(statistics), Some(personalization), Some(marketing)] => Ok(Choices {
                        statistics,
                        personalization,
                        marketing,
                    }),
                    _ => {
                        let missing = seen.iter().position(Option::is_none).unwrap_or(0);
                        Err(A::Error::missing_field(CHOICES[missing]))
                    }
                }
            }
        }
        deserializer.deserialize_map(Fields)
    }
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
        ("save", Some(choices)) => UiAction::Save(grants(&choices)),
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

fn grants(choices: &Choices) -> Grants {
    let mut grants = Grants::NONE;
    grants.set(Category::Statistics, choices.statistics);
    grants.set(Category::Personalization, choices.personalization);
    grants.set(Category::Marketing, choices.marketing);
    grants
}

/// What a page showed: the policy, the locale of its texts (recorded with the decision) and the
/// layer it opened on (which decides the actions it offers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown<'a> {
    pub policy_id: &'a str,
    pub revision: u32,
    pub locale: &'a str,
    pub layer: ConsentPageLayer,
}

/// The token a page carries: when it was issued, its locale and layer, and a MAC over those and
/// the policy it shows, keyed by this store's secret
/// (`<issued_at_ms>.<locale>.<layer>.<32 hex digits>`).
pub fn issue(key: &[u8; 32], shown: Shown<'_>, issued_at_ms: i64) -> String {
    format!(
        "{issued_at_ms}.{}.{}.{}",
        shown.locale,
        shown.layer.as_str(),
        mac(key, shown, issued_at_ms)
    )
}

/// Checks a token against the policy in force at `now_ms`; returns the locale and the layer the
/// page showed.
pub fn check(
    key: &[u8; 32],
    token: &str,
    policy_id: &str,
    revision: u32,
    now_ms: i64,
) -> Result<(String, ConsentPageLayer), String> {
    let refused =
        || "the page token was not issued by this store for the policy in force".to_owned();
    let mut parts = token.splitn(4, '.');
    let (Some(issued), Some(locale), Some(layer), Some(tag)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refused());
    };
    let issued_at_ms: i64 = issued.parse().map_err(|_| refused())?;
    // One spelling per time ("+1" and "01" parse alike): the token must be exactly as issued.
    if issued != issued_at_ms.to_string() {
        return Err(refused());
    }
    let layer = [ConsentPageLayer::Banner, ConsentPageLayer::Preferences]
        .into_iter()
        .find(|l| l.as_str() == layer)
        .ok_or_else(refused)?;
    let shown = Shown {
        policy_id,
        revision,
        locale,
        layer,
    };
    if !constant_time_eq(tag.as_bytes(), mac(key, shown, issued_at_ms).as_bytes()) {
        return Err(refused());
    }
    if issued_at_ms > now_ms.saturating_add(TOKEN_SKEW_MS) {
        return Err("the page claims to come from the future: render it again".into());
    }
    if now_ms.saturating_sub(issued_at_ms) > TOKEN_LIFETIME_MS {
        return Err("the page has expired: render it again".into());
    }
    Ok((locale.to_owned(), layer))
}

fn mac(key: &[u8; 32], shown: Shown<'_>, issued_at_ms: i64) -> String {
    let Shown {
        policy_id,
        revision,
        locale,
        layer,
    } = shown;
    let layer = layer.as_str();
    let message =
        format!("{MESSAGE_TYPE}\n{policy_id}\n{revision}\n{locale}\n{layer}\n{issued_at_ms}");
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

/// 32 random bytes for a token key: from the operating system (`/dev/urandom`, present on Android,
/// iOS and Linux), else from the standard library's randomly seeded hasher, the time and the process.
pub fn random_key() -> [u8; 32] {
    use std::io::Read;
    let mut key = [0u8; 32];
    let from_os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
    if from_os.is_ok() {
        return key;
    }
    use std::hash::{BuildHasher, Hasher};
    let mut digest = Sha256::new();
    for _ in 0..4 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.write_u32(std::process::id());
        digest.update(hasher.finish().to_le_bytes());
    }
    digest.finalize().into()
}

#[cfg(test)]
mod tests;
