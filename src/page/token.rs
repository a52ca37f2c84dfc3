//! The token a consent page carries: an HMAC-SHA256, keyed by this store's secret, over the page
//! and the state it was rendered in, so that its message is taken only from a page this store
//! rendered, for this subject and policy text, before any later decision, for a day at most.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::message::MESSAGE_TYPE;
use super::ConsentPageLayer;
use crate::rules::page::PageState;

/// How long a rendered page can be answered: a day.
pub const TOKEN_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;
/// How far ahead of this device's clock a token may claim to be issued (clock steps).
const TOKEN_SKEW_MS: i64 = 60 * 1000;

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
pub(super) fn keyed(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}
