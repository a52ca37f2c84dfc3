//! Proof of consent: what the user saw is stored by hash, and the history is a hash chain that
//! catches any record changed, removed or moved behind the SDK's back.

mod common;

use common::{policy_with, sample_policy_json, Fixture, T0};
use kmer_consent::{canonical_json, sha256_hex, Category, HistoryCheck, GENESIS, SDK_VERSION};
use rusqlite::Connection;
use serde_json::json;

fn tamper(f: &Fixture, sql: &str) {
    let conn = Connection::open(f.db()).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; \
         DROP TRIGGER IF EXISTS decisions_are_append_only_update; \
         DROP TRIGGER IF EXISTS decisions_are_append_only_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

fn with_decisions(n: usize) -> Fixture {
    let f = Fixture::new();
    let m = f.open();
    for i in 0..n {
        f.clock.advance_ms(1000);
        let on = i % 2 == 0;
        m.save([(Category::Statistics, on), (Category::Marketing, !on)].into())
            .unwrap();
    }
    f
}

fn broken_at(check: &HistoryCheck) -> i64 {
    assert!(!check.intact, "{check:?}");
    check.first_broken_record.expect("names a record")
}

#[test]
fn each_decision_records_the_policy_seen_and_the_versions() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    m.reject_all().unwrap();
    let history = m.history().unwrap();
    let expected: serde_json::Value = serde_json::from_str(&sample_policy_json()).unwrap();
    let hash = sha256_hex(canonical_json(&expected).as_bytes());
    assert!(history
        .iter()
        .all(|r| r.policy_hash.as_deref() == Some(hash.as_str())));
    assert!(history
        .iter()
        .all(|r| r.app_version == "5.2.0" && r.sdk_version == SDK_VERSION));
    assert_eq!(history[0].prev_hash, GENESIS);
    assert_eq!(history[1].prev_hash, history[0].record_hash);

    let conn = Connection::open(f.db()).unwrap();
    let (count, stored): (i64, String) = conn
        .query_row(
            "SELECT count(*), max(canonical_json) FROM policies",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(count, 1, "a policy shown twice is stored once");
    assert_eq!(
        sha256_hex(stored.as_bytes()),
        hash,
        "the stored text is what the hash covers"
    );

    m.update_policy(policy_with(|p| p["revision"] = json!(2)))
        .unwrap();
    m.accept_all().unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM policies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2);
}

#[test]
fn an_untouched_history_of_ten_thousand_decisions_verifies() {
    let f = with_decisions(10_000);
    let check = f.open().verify_history().unwrap();
    assert_eq!(
        check,
        HistoryCheck {
            intact: true,
            records: 10_000,
            first_broken_record: None,
            problem: None,
            witnessed_records: 0,
            last_witnessed_record: None,
            last_witnessed_at_ms: None,
        }
    );
}

#[test]
fn an_edited_record_is_caught() {
    let f = with_decisions(20);
    tamper(
        &f,
        "UPDATE decisions SET marketing = 1, statistics = 1 WHERE id = 7",
    );
    let check = f.open().verify_history().unwrap();
    assert_eq!(broken_at(&check), 7);
    assert_eq!(check.records, 6);
    assert!(check.problem.unwrap().contains("changed"));
}

#[test]
fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
    let f = with_decisions(20);
    // A careful forger rewrites record 7 and its own hash; record 8 still points at the original.
    tamper(
        &f,
        "UPDATE decisions SET source = 'accept_all' WHERE id = 7",
    );
    let conn = Connection::open(f.db()).unwrap();
    let m = f.open();
    let forged = m
        .history()
        .unwrap()
        .into_iter()
        .find(|r| r.id == 7)
        .unwrap();
    drop(m);
    let body = json!({
        "app_version": forged.app_version, "categories": {"marketing": forged.categories[&Category::Marketing], "personalization": forged.categories[&Category::Personalization], "statistics": forged.categories[&Category::Statistics]},
        "decided_at_ms": forged.decided_at_ms, "id": forged.id, "locale": forged.locale, "policy_hash": forged.policy_hash,
        "policy_id": forged.policy_id, "policy_revision": forged.policy_revision, "prev_hash": forged.prev_hash,
        "sdk_version": forged.sdk_version, "sdks_shown": forged.sdks_shown, "source": "accept_all", "tracking_authorization": forged.tracking_authorization.map(|t| t.as_str()), "subject": forged.subject, "origin_hash": forged.origin_hash,
    });
    let rehashed = sha256_hex(canonical_json(&body).as_bytes());
    conn.execute(
        "UPDATE decisions SET record_hash = ?1 WHERE id = 7",
        [&rehashed],
    )
    .unwrap();
    let check = f.open().verify_history().unwrap();
    assert_eq!(broken_at(&check), 8, "{check:?}");
}

#[test]
fn a_removed_record_is_caught() {
    let f = with_decisions(20);
    tamper(&f, "DELETE FROM decisions WHERE id = 12");
    assert_eq!(broken_at(&f.open().verify_history().unwrap()), 13);
}

#[test]
fn records_removed_at_the_end_are_caught() {
    let f = with_decisions(20);
    tamper(&f, "DELETE FROM decisions WHERE id >= 19");
    let check = f.open().verify_history().unwrap();
    assert_eq!(broken_at(&check), 19);
    assert!(check.problem.unwrap().contains("end"));
}

#[test]
fn reordered_records_are_caught() {
    let f = with_decisions(20);
    // Swap the contents of records 4 and 5, hashes included.
    tamper(
        &f,
        "CREATE TEMP TABLE swap AS SELECT * FROM decisions WHERE id IN (4, 5); \
         UPDATE decisions SET decided_at_ms = (SELECT decided_at_ms FROM swap WHERE id = 9 - decisions.id), \
           statistics = (SELECT statistics FROM swap WHERE id = 9 - decisions.id), \
           marketing = (SELECT marketing FROM swap WHERE id = 9 - decisions.id), \
           prev_hash = (SELECT prev_hash FROM swap WHERE id = 9 - decisions.id), \
           record_hash = (SELECT record_hash FROM swap WHERE id = 9 - decisions.id) \
         WHERE id IN (4, 5);",
    );
    assert_eq!(broken_at(&f.open().verify_history().unwrap()), 4);
}

#[test]
fn version_1_records_join_the_chain_on_upgrade() {
    let f = Fixture::new();
    {
        let conn = Connection::open(f.db()).unwrap();
        conn.execute_batch(include_str!("fixtures/schema-v1.sql"))
            .unwrap();
        for (i, source) in ["accept_all", "reject_all", "withdraw"].iter().enumerate() {
            conn.execute(
                "INSERT INTO decisions (decided_at_ms, policy_id, policy_revision, source, locale, \
                 statistics, personalization, marketing, sdks_shown) \
                 VALUES (?1, 'kmeroccase', 1, ?2, 'fr', 0, 0, 0, '[\"kmer_session\"]')",
                rusqlite::params![T0 - 10_000 + i as i64, source],
            )
            .unwrap();
        }
    }
    let m = f.open();
    assert_eq!(m.verify_history().unwrap().records, 3);
    let history = m.history().unwrap();
    assert_eq!(
        history[0].policy_hash, None,
        "what a v1 user saw was not recorded"
    );
    m.accept_all().unwrap();
    let check = m.verify_history().unwrap();
    assert!(check.intact && check.records == 4, "{check:?}");
}

#[test]
fn the_hash_is_the_documented_canonical_encoding() {
    // A server with no access to the device recomputes a record's hash from its fields alone.
    let f = Fixture::new();
    let m = f.open();
    m.save([(Category::Personalization, true)].into()).unwrap();
    let r = &m.history().unwrap()[0];
    let body = format!(
        concat!(
            r#"{{"app_version":"5.2.0","categories":{{"marketing":false,"personalization":true,"statistics":false}},"#,
            r#""decided_at_ms":{},"id":1,"locale":"fr","origin_hash":null,"policy_hash":"{}","policy_id":"kmeroccase","policy_revision":1,"#,
            r#""prev_hash":"{}","sdk_version":"{}","sdks_shown":["kmer_session","firebase_analytics","kmer_recommendations","google_mobile_ads","meta_audience_network"],"source":"save","subject":"","tracking_authorization":"not_determined"}}"#
        ),
        T0,
        r.policy_hash.as_deref().unwrap(),
        GENESIS,
        SDK_VERSION
    );
    assert_eq!(sha256_hex(body.as_bytes()), r.record_hash);
}

#[test]
fn a_changed_policy_text_is_caught() {
    let f = with_decisions(3);
    tamper(
        &f,
        "UPDATE policies SET canonical_json = replace(canonical_json, 'Tout refuser', 'Refuser')",
    );
    let check = f.open().verify_history().unwrap();
    assert_eq!(broken_at(&check), 1);
    assert!(check.problem.unwrap().contains("policy"));
}

mod receipts {
    use super::*;
    use kmer_consent::verify_receipt;
    use serde_json::Value;

    fn tcf_policy() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/kmeroccase-tcf.json"
        ))
        .unwrap()
    }

    fn exported(policy: &str, act: impl FnOnce(&kmer_consent::ConsentManager)) -> Value {
        let f = Fixture::new();
        let m = f.open_with(policy);
        assert_eq!(
            m.export_proof().unwrap(),
            None,
            "nothing to export before a decision"
        );
        act(&m);
        serde_json::from_str(&m.export_proof().unwrap().expect("a receipt")).unwrap()
    }

    #[test]
    fn a_receipt_carries_what_a_privacy_officer_asks_for_and_verifies() {
        let r = exported(&tcf_policy(), |m| {
            m.set_tracking_authorization(kmer_consent::TrackingAuthorization::Denied)
                .unwrap();
            m.save([(Category::Statistics, true), (Category::Marketing, true)].into())
                .unwrap();
        });
        assert_eq!(r["controller"]["name"], "KmerOccase");
        assert_eq!(r["notice"]["policy_id"], "kmeroccase");
        assert_eq!(r["notice"]["language"], "fr");
        assert_eq!(r["notice"]["hash"].as_str().unwrap().len(), 64);
        assert_eq!(r["event"]["type"], "save");
        assert_eq!(r["event"]["time_utc"], "2026-05-28T20:26:40.000Z");
        assert_eq!(r["validity"]["expires_utc"], "2027-06-22T20:26:40.000Z");
        assert_eq!(r["categories"][1]["state"], "given");
        assert_eq!(r["categories"][2]["state"], "refused");
        assert_eq!(
            r["categories"][3]["sdks"],
            json!(["google_mobile_ads", "meta_audience_network"])
        );
        assert_eq!(r["signals"]["consent_mode"]["ad_storage"], "granted");
        assert_eq!(r["signals"]["att_status"], "denied");
        assert!(r["signals"]["tc_string"].as_str().unwrap().starts_with('C'));
        assert_eq!(r["signals"]["addtl_consent"], "2~89~dv.");
        assert_eq!(r["integrity"]["prev_hash"], GENESIS);
        assert_eq!(r["versions"]["app"], "5.2.0");
        let check = verify_receipt(&r.to_string()).expect("verifies");
        assert_eq!(check.receipt_id, r["receipt_id"].as_str().unwrap());
    }

    #[test]
    fn a_withdrawal_is_recorded_as_withdrawn() {
        let r = exported(&sample_policy_json(), |m| {
            m.accept_all().unwrap();
            m.withdraw().unwrap();
        });
        assert_eq!(r["categories"][3]["state"], "withdrawn");
        assert_eq!(r["signals"]["tc_string"], Value::Null, "no tcf section");
        verify_receipt(&r.to_string()).unwrap();
    }

    #[test]
    fn any_edit_to_a_receipt_is_caught() {
        let r = exported(&sample_policy_json(), |m| {
            m.reject_all().unwrap();
        });
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<(&str, Edit)> = vec![
            (
                "the hashed record",
                Box::new(|r| r["record"]["categories"]["marketing"] = json!(true)),
            ),
            (
                "a category state",
                Box::new(|r| r["categories"][3]["state"] = json!("given")),
            ),
            (
                "the event type",
                Box::new(|r| r["event"]["type"] = json!("accept_all")),
            ),
            (
                "the time",
                Box::new(|r| r["event"]["time_utc"] = json!("2020-01-01T00:00:00.000Z")),
            ),
            (
                "the policy hash",
                Box::new(|r| r["notice"]["hash"] = json!("00")),
            ),
            (
                "the record hash",
                Box::new(|r| r["integrity"]["record_hash"] = json!(GENESIS)),
            ),
            (
                "the schema",
                Box::new(|r| r["schema"] = json!("something-else")),
            ),
        ];
        for (what, edit) in edits {
            let mut forged = r.clone();
            edit(&mut forged);
            assert!(
                verify_receipt(&forged.to_string()).is_err(),
                "{what} edited, still verified"
            );
        }
        assert!(verify_receipt("not json").is_err());
        assert!(verify_receipt("{}").is_err());
    }
}
