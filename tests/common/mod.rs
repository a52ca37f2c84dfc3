//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey};
use kmer_consent::{ConsentManager, ManualClock, OpenOptions, Witness};
use serde_json::Value;

/// 2026-05-28T… UTC, a fixed "now" for every test.
pub const T0: i64 = 1_780_000_000_000;

pub fn sample_policy_json() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/kmeroccase.json");
    std::fs::read_to_string(path).expect("the sample policy is readable")
}

pub fn sample_policy() -> Value {
    serde_json::from_str(&sample_policy_json()).expect("the sample policy is JSON")
}

/// The sample policy with `edit` applied.
pub fn policy_with(edit: impl FnOnce(&mut Value)) -> String {
    let mut policy = sample_policy();
    edit(&mut policy);
    policy.to_string()
}

/// A manager on a fresh database in a temporary directory, with a manual clock at `T0`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
            clock: Arc::new(ManualClock::new(T0)),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("consent.db")
    }

    pub fn options(&self) -> OpenOptions {
        OpenOptions {
            clock: self.clock.clone(),
            persist_time_marks: true,
            app_version: "5.2.0".into(),
            ..OpenOptions::default()
        }
    }

    pub fn open_with(&self, policy_json: &str) -> Arc<ConsentManager> {
        ConsentManager::open_with(&self.db(), policy_json, "fr-CM", self.options())
            .expect("open the consent store")
    }

    pub fn open(&self) -> Arc<ConsentManager> {
        self.open_with(&sample_policy_json())
    }

    /// Opened with `backend`'s public key, as an app with a back end opens it.
    pub fn open_witnessed(&self, backend: &Backend) -> Arc<ConsentManager> {
        self.open_witnessed_with(backend, &sample_policy_json())
    }

    /// [`Fixture::open_witnessed`] with another policy.
    pub fn open_witnessed_with(&self, backend: &Backend, policy_json: &str) -> Arc<ConsentManager> {
        let options = OpenOptions {
            backend_public_key: Some(backend.public_key()),
            ..self.options()
        };
        ConsentManager::open_with(&self.db(), policy_json, "fr-CM", options)
            .expect("open the consent store")
    }

    /// Opened with `backend`'s key, and `user` logged in.
    pub fn logged_in(&self, backend: &Backend, user: &str) -> Arc<ConsentManager> {
        let m = self.open_witnessed(backend);
        m.set_subject(Some(user.into())).expect("log in");
        m
    }

    /// Another connection holding the store's write lock, as a busy process would, until it is
    /// dropped: the SDK's writes wait the busy timeout (5 s), then fail.
    pub fn lock_store(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.db()).expect("open the store");
        conn.execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");
        conn
    }
}

/// The token a consent page carries (`data-token="…"`).
pub fn token_of(page: &str) -> String {
    let start = page.find("data-token=\"").expect("a token") + "data-token=\"".len();
    page[start..start + page[start..].find('"').expect("closing quote")].to_owned()
}

/// The message the page posts for `action` (with `choices`, a JSON object, for a save).
pub fn page_message(token: &str, action: &str, choices: Option<&str>) -> String {
    let choices = choices.map_or(String::new(), |c| format!(",\"choices\":{c}"));
    format!(
        r#"{{"type":"kmer-consent/ui","version":1,"token":"{token}","action":"{action}"{choices}}}"#
    )
}

/// The record hash a receipt names.
pub fn record_hash_of(receipt_json: &str) -> String {
    let receipt: Value = serde_json::from_str(receipt_json).expect("a receipt");
    receipt["integrity"]["record_hash"]
        .as_str()
        .expect("a record hash")
        .to_owned()
}

/// The app's back end, as the tests play it: it holds an Ed25519 key and signs what it receives.
pub struct Backend {
    key: SigningKey,
}

impl Backend {
    pub fn new() -> Backend {
        let mut seed = [0u8; 32];
        distinct_seed(&mut seed);
        Backend {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// A back end whose key is fixed: for a store kept as a fixture, whose witnesses must verify
    /// in every later run.
    pub fn with_seed(seed: [u8; 32]) -> Backend {
        Backend {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key the app configures (64 hex digits).
    pub fn public_key(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }

    /// The back end's witness of a record: what `acknowledge_signed` takes.
    pub fn witness(&self, record_hash: &str, at_ms: i64) -> Value {
        let signature = self.key.sign(&Witness::message(record_hash, at_ms));
        Witness {
            record_hash: record_hash.to_owned(),
            backend_time_ms: at_ms,
            signature: signature.to_bytes(),
        }
        .to_value()
    }

    /// The receipt with the back end's witness in it: what another device imports.
    pub fn countersign(&self, receipt_json: &str, at_ms: i64) -> String {
        let mut receipt: Value = serde_json::from_str(receipt_json).expect("a receipt");
        receipt["witness"] = self.witness(&record_hash_of(receipt_json), at_ms);
        receipt.to_string()
    }

    /// Receives every pending receipt of `m` at `at_ms` and acknowledges each, signed.
    pub fn witness_all(&self, m: &ConsentManager, at_ms: i64) {
        for pending in m.pending_receipts(1000).expect("pending receipts") {
            kmer_consent::verify_receipt(&pending.receipt_json)
                .expect("a pending receipt verifies");
            let hash = record_hash_of(&pending.receipt_json);
            m.acknowledge_signed(self.witness(&hash, at_ms).to_string())
                .expect("the acknowledgement is kept");
        }
    }
}

/// A seed no other `Backend` of the run has: tests need distinct keys, not secret ones.
fn distinct_seed(seed: &mut [u8; 32]) {
    use std::hash::{BuildHasher, Hasher};
    for chunk in seed.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(0);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many of this process's file descriptors are open on `path` (Linux's /proc).
pub fn open_handles(path: &std::path::Path) -> usize {
    let path = std::fs::canonicalize(path).unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}
