//! Proof of consent: the canonical encodings and SHA-256 hashes that make the history
//! tamper-evident and let anyone re-check a record without the SDK.
//!
//! Canonical JSON: UTF-8, no insignificant whitespace, object keys sorted by their UTF-8 bytes at
//! every level, strings escaped as serde_json escapes them, integers in decimal. A policy's hash is
//! the lowercase hex SHA-256 of its canonical JSON. A record's hash is the SHA-256 of the canonical
//! JSON of the object built by [`record_body`], whose `prev_hash` is the previous record's hash (64
//! zeros for the first): change, delete or reorder one record and the chain breaks there.
//!
//! Beside it: [`receipt`], the consent receipt of a record and its check, and [`witness`], the back
//! end's signed acknowledgement of a record.

pub mod receipt;
pub mod witness;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::category::Grants;
use crate::record::{is_valid_id, Cell, Decision, Fields};
use crate::rules::time;

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// This SDK's version, recorded with each decision.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of bytes: how the SDK writes every hash, signature and tag.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exactly `2 * N` hex digits (either case) as bytes: keys as people paste them. Nothing else is a
/// digit here: no sign, no space (`u8::from_str_radix` alone reads "+6" as 6, so two spellings
/// would mean one byte).
pub fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// [`decode_hex`] of the one spelling [`hex`] writes (lowercase): what the SDK itself wrote comes
/// back only as it was written.
pub fn decode_lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    decode_hex(text).filter(|_| !text.bytes().any(|b| b.is_ascii_uppercase()))
}

/// A SHA-256 as [`sha256_hex`] writes it: 64 lowercase hex digits.
pub fn is_hash(text: &str) -> bool {
    decode_lower_hex::<32>(text).is_some()
}

/// The canonical JSON of a value (see the module documentation).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The canonical JSON of a policy document and its hash. `None` if it is not JSON (a validated
/// policy always is).
pub fn policy_fingerprint(policy_json: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(policy_json).ok()?;
    let canonical = canonical_json(&value);
    let hash = sha256_hex(canonical.as_bytes());
    Some((canonical, hash))
}

/// The object a record's hash covers: every field of [`Decision::fields`] by its name but
/// `record_hash` (the hash is not part of what it covers), the three grants under `categories`.
pub fn record_body(d: &Decision) -> Value {
    let mut body = Map::new();
    let mut categories = Map::new();
    for (name, cell) in d.fields() {
        let value = match cell {
            Cell::Int(i) => json!(i),
            Cell::Text(t) => json!(t),
            Cell::Maybe(t) | Cell::Status(t) => json!(t),
            Cell::Ids(ids) => json!(ids),
            Cell::Grant(granted) => {
                categories.insert(name.into(), json!(granted));
                continue;
            }
        };
        if name != "record_hash" {
            body.insert(name.into(), value);
        }
    }
    body.insert("categories".into(), Value::Object(categories));
    Value::Object(body)
}

/// A record body as the fields of a record: each by its key (a grant under `categories`), each of
/// its JSON type; its `record_hash` is the hash of the body itself.
struct Body<'a> {
    fields: &'a Map<String, Value>,
    hash: String,
}

impl Body<'_> {
    fn get(&self, name: &str, what: &str) -> Result<&Value, String> {
        self.fields
            .get(name)
            .ok_or_else(|| format!("record.{name} is missing: it must be {what}"))
    }

    fn nullable_text(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name, "a string or null")? {
            Value::Null => Ok(None),
            Value::String(t) => Ok(Some(t.clone())),
            _ => Err(format!("record.{name} is not a string or null")),
        }
    }
}

impl Fields for Body<'_> {
    type Error = String;

    fn int(&self, name: &'static str) -> Result<i64, String> {
        self.get(name, "an integer")?
            .as_i64()
            .ok_or_else(|| format!("record.{name} is not an integer"))
    }

    fn text(&self, name: &'static str) -> Result<String, String> {
        if name == "record_hash" {
            return Ok(self.hash.clone());
        }
        match self.get(name, "a string")? {
            Value::String(t) => Ok(t.clone()),
            _ => Err(format!("record.{name} is not a string")),
        }
    }

    fn maybe(&self, name: &'static str) -> Result<Option<String>, String> {
        self.nullable_text(name)
    }

    fn status(&self, name: &'static str) -> Result<Option<String>, String> {
        self.nullable_text(name)
    }

    fn grant(&self, name: &'static str) -> Result<bool, String> {
        self.fields
            .get("categories")
            .and_then(|c| c.get(name))
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("record.categories.{name} is not a boolean"))
    }

    fn ids(&self, name: &'static str) -> Result<Vec<String>, String> {
        self.get(name, "a list")?
            .as_array()
            .ok_or_else(|| format!("record.{name} is not a list"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("record.{name} holds something that is not a string"))
            })
            .collect()
    }
}

/// Reads a record body written elsewhere (a receipt's `record`), strictly: through
/// [`Decision::read`], then it must be exactly the body [`record_body`] writes for what was read (no
/// other field, each of its one form); each text of its form and length; a source whose categories
/// agree with it (a refusal grants nothing, "accept all" grants everything); a time between 2020 and
/// 2100. Its `record_hash` is computed from the body as given.
pub fn record_from_body(body: &Value) -> Result<Decision, String> {
    let fields = body.as_object().ok_or("record is not an object")?;
    let hash = sha256_hex(canonical_json(body).as_bytes());
    let d = Decision::read(&Body { fields, hash })?;
    let expected = record_body(&d);
    if expected != *body {
        let mut names: Vec<&str> = expected
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        return Err(format!(
            "record must have exactly the fields {}, each of its form",
            names.join(", ")
        ));
    }
    let at_most = |name: &str, text: &str, max: usize| match text.len() <= max {
        true => Ok(()),
        false => Err(format!("record.{name} is longer than {max} bytes")),
    };
    at_most("locale", &d.locale, 35)?;
    at_most("sdk_version", &d.sdk_version, 64)?;
    at_most("app_version", &d.app_version, 256)?;
    at_most("subject", &d.subject, 512)?;
    let hash_or_none = |name: &str, h: Option<&str>| match h.is_none_or(is_hash) {
        true => Ok(()),
        false => Err(format!("record.{name} is not a SHA-256 in lowercase hex")),
    };
    hash_or_none("prev_hash", Some(&d.prev_hash))?;
    hash_or_none("policy_hash", d.policy_hash.as_deref())?;
    hash_or_none("origin_hash", d.origin_hash.as_deref())?;
    if d.source.refuses_everything() && d.grants.any_granted() {
        return Err(format!(
            "a {} record cannot grant anything",
            d.source.as_str()
        ));
    }
    if d.source.grants_everything() && d.grants != Grants::ALL {
        return Err(format!("a {} record grants everything", d.source.as_str()));
    }
    // A refusal made while the clock could not be trusted still has to reach the other devices; it
    // cannot grant anything, whatever its date. A grant needs a plausible one.
    if d.grants.any_granted() && time::trusted(d.decided_at_ms).is_none() {
        return Err("record.decided_at_ms is not a time between 2020 and 2100".into());
    }
    if d.id < 1 {
        return Err("record.id must be 1 or more".into());
    }
    if !is_valid_id(&d.policy_id) {
        return Err("record.policy_id is not a policy id".into());
    }
    if d.policy_revision < 1 {
        return Err("record.policy_revision must be 1 or more".into());
    }
    if !d.sdks_shown.iter().all(|id| is_valid_id(id)) {
        return Err("record.sdks_shown holds something that is not an SDK id".into());
    }
    Ok(d)
}

/// The hash of a record, chained to `d.prev_hash`.
pub fn record_hash(d: &Decision) -> String {
    sha256_hex(canonical_json(&record_body(d)).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_body_reads_back_as_the_decision_it_came_from() {
        let mut d = crate::rules::tests::decision_at(1_780_000_000_000);
        d.prev_hash = GENESIS.into();
        d.record_hash = record_hash(&d);
        assert_eq!(record_from_body(&record_body(&d)), Ok(d.clone()));
        type Edit = fn(&mut Value);
        let edits: Vec<(&str, Edit)> = vec![
            ("an extra field", |b| b["admin"] = json!(true)),
            ("a missing field", |b| {
                b.as_object_mut().unwrap().remove("subject");
            }),
            ("a grant in year 1", |b| {
                b["decided_at_ms"] = json!(-62_135_596_800_000i64)
            }),
            ("a grant in year 9999", |b| {
                b["decided_at_ms"] = json!(253_402_214_400_000i64)
            }),
            ("revision 0", |b| b["policy_revision"] = json!(0)),
            ("an unknown source", |b| b["source"] = json!("telepathy")),
            ("a withdrawal that grants", |b| {
                b["source"] = json!("withdraw");
                b["categories"]["marketing"] = json!(true);
            }),
            ("an acceptance that refuses", |b| {
                b["source"] = json!("accept_all");
                b["categories"]["marketing"] = json!(false);
            }),
            ("a fourth category", |b| {
                b["categories"]["essential"] = json!(true)
            }),
            ("a short hash", |b| b["prev_hash"] = json!("00")),
            ("an upper-case hash", |b| {
                b["policy_hash"] = json!("AB".repeat(32))
            }),
            ("an unknown ATT status", |b| {
                b["tracking_authorization"] = json!("maybe")
            }),
            ("a bad SDK id", |b| b["sdks_shown"] = json!(["Not An Id"])),
            ("an id of 0", |b| b["id"] = json!(0)),
            ("a huge subject", |b| b["subject"] = json!("x".repeat(513))),
        ];
        for (what, edit) in edits {
            let mut body = record_body(&d);
            edit(&mut body);
            assert!(record_from_body(&body).is_err(), "{what}");
        }
        // A refusal made under a clock that could not be trusted is still read: it grants nothing.
        let mut refusal = record_body(&d);
        refusal["source"] = json!("withdraw");
        refusal["categories"] =
            json!({"marketing": false, "personalization": false, "statistics": false});
        refusal["decided_at_ms"] = json!(253_402_214_400_000i64);
        assert!(record_from_body(&refusal).is_ok());
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level_and_drops_whitespace() {
        let a: Value = serde_json::from_str(
            r#"{ "b": 1, "a": { "d": [3, {"z": 1, "y": "é\n"}], "c": null } }"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"d":[3,{"y":"é\n","z":1}]},"b":1}"#
        );
        let reordered: Value =
            serde_json::from_str(r#"{"a":{"c":null,"d":[3,{"z":1,"y":"é\n"}]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&reordered));
    }

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_policy_reformatted_keeps_its_hash() {
        let compact = r#"{"id":"x","revision":1}"#;
        let pretty = "{\n  \"revision\": 1,\n  \"id\": \"x\"\n}";
        assert_eq!(policy_fingerprint(compact), policy_fingerprint(pretty));
        assert_ne!(
            policy_fingerprint(compact),
            policy_fingerprint(r#"{"id":"x","revision":2}"#)
        );
    }
}
