//! What every benchmark shares: quick mode, the summary line `benches/run.sh` reads, and stores.
#![allow(dead_code)] // each bench binary uses its own part of this module

use std::path::Path;
use std::sync::Arc;

use kmer_consent::{ConsentManager, OpenOptions};

pub const POLICY: &str = include_str!("../../policies/kmeroccase.json");
/// The sample policy's SDKs, one per category and a second marketing one.
pub const SDKS: [&str; 5] = [
    "kmer_session",
    "firebase_analytics",
    "kmer_recommendations",
    "google_mobile_ads",
    "meta_audience_network",
];

pub fn open(path: &Path) -> Arc<ConsentManager> {
    ConsentManager::open_with(path, POLICY, "fr", OpenOptions::default()).expect("open")
}

/// Makes `path` a store of `n` decisions: one recorded through the SDK, the rest copies of it
/// bulk-inserted in one transaction (recording 100,000 fsynced decisions one by one takes minutes).
pub fn fill(path: &Path, n: usize) {
    let manager = open(path);
    manager.accept_all().expect("record");
    let conn = rusqlite::Connection::open(path).expect("sqlite");
    conn.execute_batch(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
         INSERT INTO decisions (decided_at_ms, policy_id, policy_revision, source, locale, \
         statistics, personalization, marketing, sdks_shown) \
         SELECT decided_at_ms, policy_id, policy_revision, source, locale, statistics, \
         personalization, marketing, sdks_shown FROM decisions, n WHERE decisions.id = 1;",
        n - 1
    ))
    .expect("fill");
}

/// `KMER_BENCH_QUICK=1`: fewer rounds, to prove a benchmark runs (CI), not to measure.
pub fn quick() -> bool {
    std::env::var_os("KMER_BENCH_QUICK").is_some_and(|v| v != "0")
}

/// One line of the summary table: `row|what|figure|baseline|value|target|unit`. `value` is the
/// number the target applies to (a ratio or a measure); `target` is `<=N`, `>=N` or empty (reported).
pub fn row(what: &str, figure: &str, baseline: &str, value: f64, target: &str, unit: &str) {
    println!("row|{what}|{figure}|{baseline}|{value:.2}|{target}|{unit}");
}
