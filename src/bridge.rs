//! The message the consent page sends through the platform bridge, validated as untrusted input,
//! and the token that ties it to a page this store rendered.
//!
//! A message is a JSON object of at most [`MAX_MESSAGE_BYTES`]:
//! `{"type":"kmer-consent/ui","version":1,"token":"…","action":"save","choices":{"statistics":true,
//! "personalization":false,"marketing":false}}`. `action` is `accept_all`, `reject_all`, `dismiss`,
//! `save` or `close`; `choices` comes with `save` only (absent or null otherwise), and names each
//! optional category exactly once. Anything else (another field, a wrong type, an unknown action or
//! category, a token this store did not issue for this subject, policy text and state, or one
//! [`TOKEN_LIFETIME_MS`] old or older) is refused and records nothing. A token is good for one answer:
//! it covers the newest decision in the store, so once any decision is recorded it is stale.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::category::{Category, Grants};
use crate::page::ConsentPageLayer;
use crate::rules::page::PageState;
pub use crate::rules::page::UiAction;

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// How long a rendered page can be answered: a day.
pub const TOKEN_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;
/// How far ahead of this device's clock a token may claim to be issued (clock steps).
const TOKEN_SKEW_MS: i64 = 60 * 1000;
const MESSAGE_TYPE: &str = "kmer-consent/ui";

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

/// What a page showed: the policy, the locale of its texts (recorded with the decision), the layer
/// it opened on (which decides the actions it offers) and the state it was rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown<'a> {
    pub policy_id: &'a str,
    pub revision: u32,
    pub locale: &'a str,
    pub layer: ConsentPageLayer,
    pub state: &'a PageState,
}

/// The token a page carries: when it was issued, its locale and layer, and an HMAC-SHA256 over
/// those, the policy text and the state it shows, keyed by this store's secret
/// (`<issued_at_ms>.<locale>.<layer>.<32 hex digits>`).
pub fn issue(key: &[u8; 32], shown: Shown<'_>, issued_at_ms: i64) -> String {
    let tag = mac(key, shown, issued_at_ms).finalize().into_bytes();
    format!(
        "{issued_at_ms}.{}.{}.{}",
        shown.locale,
        shown.layer.as_str(),
        crate::proof::hex(&tag[..TAG_BYTES])
    )
}

/// What a token says of its page: the locale and the layer it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub locale: String,
    pub layer: ConsentPageLayer,
}

/// Checks a token against the policy and the state in force at `now_ms`. A token is refused once
/// [`TOKEN_LIFETIME_MS`] has passed since it was issued (a day old is too old).
pub fn check(
    key: &[u8; 32],
    token: &str,
    policy_id: &str,
    revision: u32,
    state: &PageState,
    now_ms: i64,
) -> Result<Issued, String> {
    let refused = || {
        "the page token was not issued by this store for this user, policy and state: render the page again"
            .to_owned()
    };
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
    let tag: [u8; TAG_BYTES] = crate::proof::decode_lower_hex(tag).ok_or_else(refused)?;
    let shown = Shown {
        policy_id,
        revision,
        locale,
        layer,
        state,
    };
    mac(key, shown, issued_at_ms)
        .verify_truncated_left(&tag)
        .map_err(|_| refused())?;
    if issued_at_ms > now_ms.saturating_add(TOKEN_SKEW_MS) {
        return Err("the page claims to come from the future: render it again".into());
    }
    if now_ms.saturating_sub(issued_at_ms) >= TOKEN_LIFETIME_MS {
        return Err("the page has expired: render it again".into());
    }
    Ok(Issued {
        locale: locale.to_owned(),
        layer,
    })
}

/// Bytes of the HMAC kept in a token (128 bits).
const TAG_BYTES: usize = 16;

fn mac(key: &[u8; 32], shown: Shown<'_>, issued_at_ms: i64) -> Hmac<Sha256> {
    let Shown {
        policy_id,
        revision,
        locale,
        layer,
        state,
    } = shown;
    let layer = layer.as_str();
    let message = format!(
        "{MESSAGE_TYPE}\n{policy_id}\n{revision}\n{locale}\n{layer}\n{issued_at_ms}\n{}",
        state.canonical()
    );
    let mut mac = keyed(key);
    mac.update(message.as_bytes());
    mac
}

/// HMAC-SHA256 keyed with `key`. HMAC pads a key shorter than SHA-256's 64-byte block with zeros:
/// the key is padded here, which needs no fallible length check.
fn keyed(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

#[cfg(test)]
mod tests;
