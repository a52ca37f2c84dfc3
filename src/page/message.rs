//! The message the consent page posts through the platform bridge, validated as untrusted input
//! (its token is checked by [`super::token`]).
//!
//! A message is a JSON object of at most [`MAX_MESSAGE_BYTES`]:
//! `{"type":"kmer-consent/ui","version":1,"token":"…","action":"save","choices":{"statistics":true,
//! "personalization":false,"marketing":false}}`. `action` is `accept_all`, `reject_all`, `dismiss`,
//! `save` or `close`; `choices` comes with `save` only (absent or null otherwise), and names each
//! optional category exactly once. Anything else (another field, a wrong type, an unknown action or
//! category, a token this store did not issue for this subject, policy text and state, or one
//! [`TOKEN_LIFETIME_MS`] old or older) is refused and records nothing. A token is good for one answer:
//! it covers the newest decision in the store, so once any decision is recorded it is stale.

use serde::Deserialize;

use crate::category::{Category, Grants};
pub use crate::rules::page::UiAction;

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// The message type, also the domain separator of page tokens.
pub(crate) const MESSAGE_TYPE: &str = "kmer-consent/ui";

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
