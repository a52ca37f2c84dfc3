//! What the fuzz targets share: a back end key and a genuine countersigned receipt and
//! acknowledgement, made once with the SDK itself.
use std::sync::OnceLock;

use ed25519_dalek::{Signer, SigningKey};
use kmer_consent::{BackendKey, ConsentManager, ConsentOptions, Witness};
use serde_json::Value;

/// A fixed key: the fuzzer needs a stable target, not a secret.
fn signing() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

pub fn key() -> &'static BackendKey {
    static KEY: OnceLock<BackendKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let public: String = signing()
            .verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        BackendKey::parse(&public).unwrap()
    })
}

/// `text` with the fuzzer's edits applied: `data` read as (position: 2 bytes, new byte) triples.
/// `None` when the result is not UTF-8.
pub fn edited(text: &str, data: &[u8]) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for edit in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % bytes.len();
        bytes[at] = edit[2];
    }
    String::from_utf8(bytes).ok()
}

pub struct Genuine {
    /// A receipt of an "accept all" with the back end's witness in it.
    pub receipt: String,
    /// The witness alone, as `acknowledge_signed` takes it.
    pub acknowledgement: String,
}

pub fn genuine() -> &'static Genuine {
    static GENUINE: OnceLock<Genuine> = OnceLock::new();
    GENUINE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let policy = include_str!("../../policies/kmeroccase-tcf.json");
        let db = dir.path().join("fuzz.db").display().to_string();
        let m = ConsentManager::open(ConsentOptions {
            locale: "fr".into(),
            app_version: "1.0".into(),
            ..ConsentOptions::new(db, policy)
        })
        .unwrap();
        m.set_subject(Some("account-7".into())).unwrap();
        m.accept_all().unwrap();
        let mut receipt: Value = serde_json::from_str(&m.export_proof().unwrap().unwrap()).unwrap();
        let hash = receipt["receipt_id"].as_str().unwrap().to_owned();
        let at = 1_780_000_000_000;
        let witness = Witness {
            signature: signing().sign(&Witness::message(&hash, at)).to_bytes(),
            record_hash: hash,
            backend_time_ms: at,
        }
        .to_value();
        receipt["witness"] = witness.clone();
        Genuine {
            receipt: receipt.to_string(),
            acknowledgement: witness.to_string(),
        }
    })
}
