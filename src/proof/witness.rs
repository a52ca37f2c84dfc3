//! The app's back end as the witness of consent records.
//!
//! The device keeps no secret an attacker holding its files could not read, so on its own it cannot
//! stop someone from rewriting its history and recomputing every hash. The app's back end can: when
//! it receives a receipt it signs, with an Ed25519 key only it holds, the record's hash and its own
//! time. The device stores that signature (`acknowledge_signed`); from then on that record, and
//! every record before it in the chain, cannot be rewritten on the device without `verify_history`
//! failing, as long as the witness is kept (someone who can also delete it makes the record look
//! unwitnessed here; the back end's own copy shows the difference). Another device imports a decision only with such a signature, and orders it
//! by the back end's time, never by a device clock.
//!
//! A witness is the JSON object
//! `{"schema":"kmer-consent-witness/1","record_hash":"<64 hex>","backend_time_ms":<int>,"signature":"<128 hex>"}`,
//! the signature over the UTF-8 bytes of `kmer-consent-witness/1\n<record_hash>\n<backend_time_ms>\n`
//! (`docs/receipts.md` has test vectors).

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::proof::{decode_hex, decode_lower_hex, hex, is_hash};
use crate::rules::time;

/// The witness format's version.
pub const WITNESS_SCHEMA: &str = "kmer-consent-witness/1";
/// The largest acknowledgement accepted, in bytes.
pub const MAX_ACKNOWLEDGEMENT_BYTES: usize = 1024;

/// The back end's Ed25519 public key, as the app configures it (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendKey(VerifyingKey);

impl BackendKey {
    /// Parses a public key written as 64 hex digits (32 bytes, RFC 8032 encoding). A key that is
    /// not a valid point, or a weak one, is refused.
    pub fn parse(text: &str) -> Result<BackendKey, String> {
        let bytes: [u8; 32] = decode_hex(text.trim())
            .ok_or("a back end public key is 64 hex digits (32 bytes, Ed25519)")?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "the back end public key is not a valid Ed25519 key".to_owned())?;
        if key.is_weak() {
            return Err("the back end public key is a weak Ed25519 key".into());
        }
        Ok(BackendKey(key))
    }

    /// Whether `signature` signs `message` under this key (RFC 8032, strict: no malleable
    /// signatures, no small-order components).
    pub fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// The back end's signed statement that it saw the record with `record_hash` at `backend_time_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub record_hash: String,
    pub backend_time_ms: i64,
    pub signature: [u8; 64],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    schema: String,
    record_hash: String,
    backend_time_ms: i64,
    signature: String,
}

impl Witness {
    /// Reads a witness object, checking its form (not yet its signature).
    pub fn from_value(value: &Value) -> Result<Witness, String> {
        let raw: Raw =
            serde_json::from_value(value.clone()).map_err(|e| format!("not a witness: {e}"))?;
        Witness::from_raw(raw)
    }

    /// Reads an acknowledgement as the back end sends it (a witness object), at most
    /// [`MAX_ACKNOWLEDGEMENT_BYTES`].
    pub fn parse(json: &str) -> Result<Witness, String> {
        if json.len() > MAX_ACKNOWLEDGEMENT_BYTES {
            return Err(format!(
                "the acknowledgement is {} bytes; at most {MAX_ACKNOWLEDGEMENT_BYTES} are accepted",
                json.len()
            ));
        }
        let raw: Raw =
            serde_json::from_str(json).map_err(|e| format!("not an acknowledgement: {e}"))?;
        Witness::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Witness, String> {
        if raw.schema != WITNESS_SCHEMA {
            return Err(format!(
                "unknown witness schema (expected {WITNESS_SCHEMA})"
            ));
        }
        if !is_hash(&raw.record_hash) {
            return Err("record_hash is not 64 lowercase hex digits".into());
        }
        if time::trusted(raw.backend_time_ms).is_none() {
            return Err("backend_time_ms is not a time between 2020 and 2100".into());
        }
        let signature =
            decode_lower_hex(&raw.signature).ok_or("signature is not 128 lowercase hex digits")?;
        Ok(Witness {
            record_hash: raw.record_hash,
            backend_time_ms: raw.backend_time_ms,
            signature,
        })
    }

    /// The bytes the back end signs.
    pub fn message(record_hash: &str, backend_time_ms: i64) -> Vec<u8> {
        format!("{WITNESS_SCHEMA}\n{record_hash}\n{backend_time_ms}\n").into_bytes()
    }

    /// Checks the signature under the back end's key.
    pub fn verify(&self, key: &BackendKey) -> Result<(), String> {
        if key.verifies(
            &Witness::message(&self.record_hash, self.backend_time_ms),
            &self.signature,
        ) {
            Ok(())
        } else {
            Err("the back end's signature does not verify".into())
        }
    }

    /// The witness object.
    pub fn to_value(&self) -> Value {
        json!({
            "schema": WITNESS_SCHEMA,
            "record_hash": self.record_hash,
            "backend_time_ms": self.backend_time_ms,
            "signature": hex(&self.signature),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1, tests 1 to 3: (public key, message, signature).
    const RFC_8032: [(&str, &str, &str); 3] = [
        (
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ];

    fn bytes(text: &str) -> Vec<u8> {
        (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_rfc_8032_test_vectors_verify_and_any_change_does_not() {
        for (public, message, signature) in RFC_8032 {
            let key = BackendKey::parse(public).unwrap();
            let message = bytes(message);
            let signature: [u8; 64] = decode_hex(signature).unwrap();
            assert!(key.verifies(&message, &signature), "{public}");
            let mut other = message.clone();
            other.push(0);
            assert!(!key.verifies(&other, &signature));
            for i in [0, 31, 32, 63] {
                let mut flipped = signature;
                flipped[i] ^= 1;
                assert!(!key.verifies(&message, &flipped), "byte {i}");
            }
        }
        // Another vector's key does not verify this one's signature.
        let other = BackendKey::parse(RFC_8032[1].0).unwrap();
        assert!(!other.verifies(b"", &decode_hex(RFC_8032[0].2).unwrap()));
    }

    #[test]
    fn keys_that_are_not_ed25519_public_keys_are_refused() {
        for bad in [
            "",
            "00",
            &"zz".repeat(32),
            &"ab".repeat(33),
            // The identity point: a weak key.
            "0100000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(BackendKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_acknowledgement_is_read_strictly() {
        let good = json!({"schema": WITNESS_SCHEMA, "record_hash": "ab".repeat(32),
            "backend_time_ms": 1_780_000_000_000i64, "signature": "cd".repeat(64)});
        assert!(Witness::parse(&good.to_string()).is_ok());
        let edits: [fn(&mut Value); 9] = [
            |v| v["schema"] = json!("kmer-consent-witness/0"),
            |v| v["record_hash"] = json!("AB".repeat(32)),
            |v| v["record_hash"] = json!("ab".repeat(31)),
            |v| v["backend_time_ms"] = json!(0),
            |v| v["backend_time_ms"] = json!(253_402_214_400_000i64),
            |v| v["signature"] = json!("CD".repeat(64)),
            // Found by the fuzzer: a sign where a digit belongs read as the same byte.
            |v| v["signature"] = json!(format!("+{}", "c".repeat(127))),
            |v| v["extra"] = json!(1),
            |v| v["backend_time_ms"] = json!("1780000000000"),
        ];
        for edit in edits {
            let mut bad = good.clone();
            edit(&mut bad);
            assert!(Witness::parse(&bad.to_string()).is_err(), "{bad}");
        }
        assert!(Witness::parse(&" ".repeat(MAX_ACKNOWLEDGEMENT_BYTES + 1)).is_err());
    }
}
