//! Proof of consent: the canonical encodings and SHA-256 hashes that make the history
//! tamper-evident and let anyone re-check a record without the SDK.
//!
//! Canonical JSON: UTF-8, no insignificant whitespace, object keys sorted by their UTF-8 bytes at
//! every level, strings escaped as serde_json escapes them, integers in decimal. A policy's hash is
//! the lowercase hex SHA-256 of its canonical JSON. A record's hash is the SHA-256 of the canonical
//! JSON of the object built by [`record_hash`], whose `prev_hash` is the previous record's hash (64
//! zeros for the first): change, delete or reorder one record and the chain breaks there.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::record::Decision;

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// This SDK's version, recorded with each decision.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// The object a record's hash covers.
pub fn record_body(d: &Decision) -> Value {
    let mut categories = Map::new();
    categories.insert("marketing".into(), json!(d.grants.marketing));
    categories.insert("personalization".into(), json!(d.grants.personalization));
    categories.insert("statistics".into(), json!(d.grants.statistics));
    json!({
        "app_version": d.app_version,
        "categories": categories,
        "decided_at_ms": d.decided_at_ms,
        "id": d.id,
        "locale": d.locale,
        "origin_hash": d.origin_hash,
        "policy_hash": d.policy_hash,
        "policy_id": d.policy_id,
        "policy_revision": d.policy_revision,
        "prev_hash": d.prev_hash,
        "sdk_version": d.sdk_version,
        "sdks_shown": d.sdks_shown,
        "source": d.source.as_str(),
        "subject": d.subject,
        "tracking_authorization": d.tracking_authorization.map(|t| t.as_str()),
    })
}

/// The hash of a record, chained to `d.prev_hash`.
pub fn record_hash(d: &Decision) -> String {
    sha256_hex(canonical_json(&record_body(d)).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
