//! A store written by an earlier build keeps its hashes: `tests/fixtures/store-schema-3.db` was made
//! by [`write_the_fixture`] with the code of commit d47f6be (before the store was split into
//! `src/store/`), and every later build must read it, verify its chains and witnesses, and compute
//! for each record the very hash that build stored. A change to the canonical record encoding (a
//! field renamed, added or spelled otherwise) breaks every record of every store on every device:
//! this test fails first.

mod common;

use std::path::Path;

use common::{sample_policy_json, Backend, Fixture, T0};
use kmer_consent::{canonical_json, sha256_hex, DecisionSource, DAY_MS, GENESIS};
use rusqlite::Connection;
use serde_json::Value;

const FIXTURE: &str = "tests/fixtures/store-schema-3.db";
/// The back end that witnessed the fixture's records (a fixed key, so its witnesses verify).
const BACKEND_SEED: [u8; 32] = [7; 32];
const USER: &str = "account-7";

/// Each record of the fixture as that build stored it: (id, subject, source, prev_hash, record_hash).
const RECORDS: [(i64, &str, &str, &str, &str); 7] = [
    (
        1,
        "",
        "reject_all",
        GENESIS,
        "a7ed4e38cf88e89df5564f3654b968f0bfc1b386041f9c18cda17284d21c524c",
    ),
    (
        2,
        "",
        "save",
        "a7ed4e38cf88e89df5564f3654b968f0bfc1b386041f9c18cda17284d21c524c",
        "391fb20dd6a0940f13102737b17b49176f8b31e6fff311e9b400d2416a02bd36",
    ),
    (
        3,
        "",
        "accept_all",
        "391fb20dd6a0940f13102737b17b49176f8b31e6fff311e9b400d2416a02bd36",
        "e6b080c90a6ce5dcbcbb356d6f49a46d741760b635f12cfc8815647bd3d28037",
    ),
    (
        4,
        "",
        "withdraw",
        "e6b080c90a6ce5dcbcbb356d6f49a46d741760b635f12cfc8815647bd3d28037",
        "291466c27afa6ff66d1425bcd6474924f9ae873bb62c024984cf287a17ffe82f",
    ),
    (
        5,
        USER,
        "subject_link",
        GENESIS,
        "b2fad866a4137514132ad21a3d57457077adf33fe902ff9ed2863110dfb25f7b",
    ),
    (
        6,
        USER,
        "import",
        "b2fad866a4137514132ad21a3d57457077adf33fe902ff9ed2863110dfb25f7b",
        "04fc7588cdf1ca9d0b92bc886f92f8aa1fe02b7c5c05f0223d6bf5a2f14b78cd",
    ),
    (
        7,
        USER,
        "dismiss",
        "04fc7588cdf1ca9d0b92bc886f92f8aa1fe02b7c5c05f0223d6bf5a2f14b78cd",
        "fc7f54af83102cbd1b74605bd86af55d9eb9835fd91721d0f066f91fc2753466",
    ),
];

/// Each subject's chain as that build stored it: (subject, head, length).
const HEADS: [(&str, &str, i64); 2] = [
    (
        "",
        "291466c27afa6ff66d1425bcd6474924f9ae873bb62c024984cf287a17ffe82f",
        4,
    ),
    (
        USER,
        "fc7f54af83102cbd1b74605bd86af55d9eb9835fd91721d0f066f91fc2753466",
        3,
    ),
];

#[test]
fn a_store_an_earlier_build_wrote_verifies_and_every_hash_recomputes_as_it_was_stored() {
    let f = Fixture::new();
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), f.db()).unwrap();
    let backend = Backend::with_seed(BACKEND_SEED);
    let m = f.open_witnessed_with(&backend, &sample_policy_json());

    // Every link and every hash recomputed by this build, every witness checked under the key.
    let check = m.verify_history().unwrap();
    assert!(check.intact, "{check:?}");
    assert_eq!(
        (check.records, check.witnessed_records),
        (7, 5),
        "{check:?}"
    );

    // What the file holds is what that build wrote (the fixture was not rewritten since).
    let stored = stored_records(&f.db());
    let expected: Vec<(i64, String, String, String, String)> = RECORDS
        .iter()
        .map(|&(id, subject, source, prev, hash)| {
            (id, subject.into(), source.into(), prev.into(), hash.into())
        })
        .collect();
    assert_eq!(stored, expected);
    let heads: Vec<(String, String, i64)> = HEADS
        .iter()
        .map(|&(subject, head, length)| (subject.into(), head.into(), length))
        .collect();
    assert_eq!(chain_heads(&f.db()), heads);

    // Each record read back through the API, its body rebuilt by this build and hashed: the hash
    // that build stored.
    let mut seen = Vec::new();
    for subject in [None, Some(USER)] {
        m.set_subject(subject.map(str::to_owned)).unwrap();
        for record in m.history().unwrap() {
            seen.push((record.id, record.record_hash.clone()));
        }
        let receipt: Value = serde_json::from_str(&m.export_proof().unwrap().unwrap()).unwrap();
        let body_hash = sha256_hex(canonical_json(&receipt["record"]).as_bytes());
        assert_eq!(
            Some(body_hash.as_str()),
            receipt["integrity"]["record_hash"].as_str()
        );
        kmer_consent::verify_receipt(&receipt.to_string()).expect("its receipt verifies");
    }
    let hashes: Vec<(i64, String)> = RECORDS
        .iter()
        .map(|&(id, _, _, _, hash)| (id, hash.into()))
        .collect();
    assert_eq!(seen, hashes);
    assert_eq!(m.status().last_source, Some(DecisionSource::Dismiss));

    // The chains go on from the stored heads.
    m.reject_all().unwrap();
    assert!(m.verify_history().unwrap().intact);
}

/// Writes the fixture (run by hand: `cargo test --test stored_hashes -- --ignored`), then prints
/// its records to be copied into [`RECORDS`]. Kept for the record of how it was made; the file is
/// never rewritten by a later build, or the test would prove nothing.
#[test]
#[ignore]
fn write_the_fixture() {
    let backend = Backend::with_seed(BACKEND_SEED);
    // The user's tablet: an acceptance the back end countersigns, imported on the phone below.
    let tablet = Fixture::new();
    tablet.clock.set(T0 + 3 * DAY_MS);
    let t = tablet.open_witnessed(&backend);
    t.set_subject(Some(USER.into())).unwrap();
    t.set_tracking_authorization(kmer_consent::TrackingAuthorization::Denied)
        .unwrap();
    t.accept_all().unwrap();
    let from_tablet = backend.countersign(
        &t.pending_receipts(1).unwrap().remove(0).receipt_json,
        T0 + 3 * DAY_MS + 10,
    );

    let f = Fixture::new();
    let m = f.open_witnessed(&backend);
    m.reject_all().unwrap();
    f.clock.set(T0 + 3_600_000);
    m.set_tracking_authorization(kmer_consent::TrackingAuthorization::Authorized)
        .unwrap();
    m.save([(kmer_consent::Category::Statistics, true)].into())
        .unwrap();
    // A policy update: the next decision is made on another text, stored beside the first.
    f.clock.set(T0 + DAY_MS);
    let revised = common::policy_with(|p| p["revision"] = 2.into());
    m.update_policy(revised).unwrap();
    m.accept_all().unwrap();
    f.clock.set(T0 + 2 * DAY_MS);
    m.withdraw().unwrap();
    backend.witness_all(&m, T0 + 2 * DAY_MS + 10);
    // The user logs in: the device's refusal is adopted, then the tablet's acceptance imported.
    m.set_subject(Some(USER.into())).unwrap();
    f.clock.set(T0 + 4 * DAY_MS);
    assert!(m.import_receipt(from_tablet).unwrap().is_some());
    m.dismiss().unwrap();
    assert!(m.verify_history().unwrap().intact);
    drop(m);

    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let conn = Connection::open(f.db()).unwrap();
    conn.execute("VACUUM INTO ?1", [out.display().to_string()])
        .unwrap();
    for record in stored_records(&out) {
        println!("{record:?},");
    }
    for head in chain_heads(&out) {
        println!("{head:?},");
    }
}

fn stored_records(db: &Path) -> Vec<(i64, String, String, String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, subject, source, prev_hash, record_hash FROM decisions ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn chain_heads(db: &Path) -> Vec<(String, String, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT subject, head, length FROM chain ORDER BY subject")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}
