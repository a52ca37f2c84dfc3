//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kmer_consent::{ConsentManager, ManualClock, OpenOptions};
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
            persist_clock_mark: true,
            app_version: "5.2.0".into(),
            max_database_pages: None,
        }
    }

    pub fn open_with(&self, policy_json: &str) -> Arc<ConsentManager> {
        ConsentManager::open_with(&self.db(), policy_json, "fr-CM", self.options())
            .expect("open the consent store")
    }

    pub fn open(&self) -> Arc<ConsentManager> {
        self.open_with(&sample_policy_json())
    }
}
