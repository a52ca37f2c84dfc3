//! The trust model, finding by finding: nothing but this user's own explicit choice on the policy
//! as it was shown can grant. Each test reproduces one way consent was granted without the user
//! (issue 13) and asserts that it no longer is.

mod common;

use common::{policy_with, sample_policy_json, Fixture, T0};
use kmer_consent::{
    canonical_json, sha256_hex, Category, ConsentError, ConsentManager, ConsentPageLayer,
    OpenOptions, DAY_MS,
};
use rusqlite::Connection;
use serde_json::{json, Value};

fn token_of(page: &str) -> String {
    let start = page.find("data-token=\"").expect("a token") + "data-token=\"".len();
    page[start..start + page[start..].find('"').expect("closing quote")].to_owned()
}

fn ui(token: &str, action: &str) -> String {
    format!(r#"{{"type":"kmer-consent/ui","version":1,"token":"{token}","action":"{action}"}}"#)
}

const ALL_SDKS: [&str; 4] = [
    "firebase_analytics",
    "kmer_recommendations",
    "google_mobile_ads",
    "meta_audience_network",
];

fn nothing_optional_runs(m: &ConsentManager) {
    for sdk in ALL_SDKS {
        assert!(!m.can_start(sdk.into()), "{sdk} allowed");
    }
}

/// A receipt written by hand, with no key and no SDK: a record, its hash, and readable fields
/// that agree with it as the old verifier wanted.
fn hand_written_receipt(subject: &str, decided_at_ms: i64, revision: u32, source: &str) -> Value {
    let record = json!({
        "app_version": "9.9.9", "categories": {"marketing": true, "personalization": true, "statistics": true},
        "decided_at_ms": decided_at_ms, "id": 1, "locale": "fr", "origin_hash": null,
        "policy_hash": "ab".repeat(32), "policy_id": "kmeroccase", "policy_revision": revision,
        "prev_hash": "0".repeat(64), "sdk_version": "0.1.0",
        "sdks_shown": ["kmer_session", "firebase_analytics", "kmer_recommendations", "google_mobile_ads", "meta_audience_network", "not_yet_listed"],
        "source": source, "subject": subject, "tracking_authorization": "authorized",
    });
    let hash = sha256_hex(canonical_json(&record).as_bytes());
    let given = |c: &str| json!({"category": c, "state": "given", "sdks": [], "tcf_purposes": []});
    json!({
        "schema": "kmer-consent-receipt/1",
        "receipt_id": hash,
        "subject": subject,
        "controller": {"name": "Someone Else", "contact": "x", "policy_url": "https://example.com"},
        "notice": {"policy_id": "kmeroccase", "revision": revision, "hash": "ab".repeat(32), "language": "fr"},
        "event": {"type": source, "collection_method": "anything", "time_utc": kmer_utc(decided_at_ms)},
        "validity": {"expires_utc": "2999-01-01T00:00:00.000Z"},
        "categories": [given("essential"), given("statistics"), given("personalization"), given("marketing")],
        "integrity": {"prev_hash": "0".repeat(64), "record_hash": hash},
        "record": record,
    })
}

/// RFC 3339 UTC to the millisecond, as receipts write it.
fn kmer_utc(ms: i64) -> String {
    let f = Fixture::new();
    f.clock.set(ms);
    let m = f.open();
    m.reject_all().unwrap();
    let r: Value = serde_json::from_str(&m.export_proof().unwrap()).unwrap();
    r["event"]["time_utc"].as_str().unwrap().to_owned()
}

mod finding_1_forged_receipts {
    use super::*;

    #[test]
    fn a_receipt_written_by_hand_does_not_verify() {
        for (subject, at, revision, source) in [
            ("account-7", T0, 1, "accept_all"),
            ("account-7", -62_135_596_800_000, 1, "accept_all"), // year 0001
            ("account-7", 253_402_214_400_000, 1, "accept_all"), // year 9999
            ("account-7", T0, 999, "accept_all"),
            ("account-7", T0, 1, "withdraw"),
        ] {
            let forged = hand_written_receipt(subject, at, revision, source);
            assert!(
                kmer_consent::verify_receipt(&forged.to_string()).is_err(),
                "{source} at {at} rev {revision} verified"
            );
        }
    }

    #[test]
    fn readable_fields_that_contradict_the_record_are_caught() {
        let f = Fixture::new();
        let m = f.open();
        m.set_subject(Some("account-7".into())).unwrap();
        m.reject_all().unwrap();
        let real: Value = serde_json::from_str(&m.export_proof().unwrap()).unwrap();
        kmer_consent::verify_receipt(&real.to_string()).expect("the real receipt verifies");
        type Edit = fn(&mut Value);
        let edits: [(&str, Edit); 6] = [
            ("subject", |r| r["subject"] = json!("someone-else")),
            ("validity", |r| {
                r["validity"]["expires_utc"] = json!("2999-01-01T00:00:00.000Z")
            }),
            ("controller", |r| r["controller"]["name"] = json!("Other")),
            ("SDK list", |r| {
                r["categories"][3]["sdks"] = json!(["google_mobile_ads"])
            }),
            ("an unknown field", |r| r["extra"] = json!(true)),
            ("collection method", |r| {
                r["event"]["collection_method"] = json!("banner: accept all")
            }),
        ];
        for (what, edit) in edits {
            let mut forged = real.clone();
            edit(&mut forged);
            assert!(
                kmer_consent::verify_receipt(&forged.to_string()).is_err(),
                "{what} changed, still verified"
            );
        }
    }

    #[test]
    fn a_forged_receipt_imported_for_the_user_grants_nothing() {
        let f = Fixture::new();
        let m = f.open();
        m.set_subject(Some("account-7".into())).unwrap();
        m.reject_all().unwrap();
        let forged = hand_written_receipt("account-7", T0 + 1000, 999, "accept_all");
        assert!(m.import_receipt(forged.to_string()).is_err());
        nothing_optional_runs(&m);
        assert_eq!(m.history().unwrap().len(), 1, "nothing recorded");
    }

    #[test]
    fn a_genuine_receipt_without_the_back_ends_signature_is_not_imported() {
        let other = Fixture::new();
        let tablet = other.open();
        tablet.set_subject(Some("account-7".into())).unwrap();
        tablet.accept_all().unwrap();
        let receipt = tablet.export_proof().unwrap();

        let f = Fixture::new();
        f.clock.advance_ms(60_000);
        let m = f.open();
        m.set_subject(Some("account-7".into())).unwrap();
        assert!(m.import_receipt(receipt).is_err());
        nothing_optional_runs(&m);
    }
}

mod finding_2_rewritten_chain {
    use super::*;

    /// Flips the last record to accept_all and recomputes every hash and the head, as anyone who
    /// can write the file can.
    fn rewrite_last_to_accept_all(f: &Fixture) {
        let conn = Connection::open(f.db()).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS decisions_are_append_only_update; \
             UPDATE decisions SET source = 'accept_all', statistics = 1, personalization = 1, marketing = 1 \
             WHERE id = (SELECT max(id) FROM decisions);",
        )
        .unwrap();
        let m = f.open();
        let last = m.history().unwrap().pop().unwrap();
        drop(m);
        let body = json!({
            "app_version": last.app_version,
            "categories": {"marketing": true, "personalization": true, "statistics": true},
            "decided_at_ms": last.decided_at_ms, "id": last.id, "locale": last.locale,
            "origin_hash": last.origin_hash, "policy_hash": last.policy_hash, "policy_id": last.policy_id,
            "policy_revision": last.policy_revision, "prev_hash": last.prev_hash,
            "sdk_version": last.sdk_version, "sdks_shown": last.sdks_shown, "source": "accept_all",
            "subject": last.subject, "tracking_authorization": last.tracking_authorization.map(|t| t.as_str()),
        });
        let hash = sha256_hex(canonical_json(&body).as_bytes());
        conn.execute(
            "UPDATE decisions SET record_hash = ?1 WHERE id = ?2",
            rusqlite::params![hash, last.id],
        )
        .unwrap();
        conn.execute(
            "UPDATE chain SET head = ?1 WHERE subject = ''",
            rusqlite::params![hash],
        )
        .unwrap();
    }

    #[test]
    fn a_rewritten_record_the_back_end_witnessed_is_caught() {
        let f = Fixture::new();
        let backend = common::Backend::new();
        let m = f.open_witnessed(&backend);
        m.accept_all().unwrap();
        f.clock.advance_ms(1000);
        m.reject_all().unwrap();
        backend.witness_all(&m, T0 + 5_000);
        assert!(m.verify_history().unwrap().intact);
        drop(m);

        rewrite_last_to_accept_all(&f);
        let m = f.open_witnessed(&backend);
        let check = m.verify_history().unwrap();
        assert!(!check.intact, "{check:?}");
        assert_eq!(check.first_broken_record, Some(2));
        nothing_optional_runs(&m);
    }
}

mod finding_3_sync_undoes_a_withdrawal {
    use super::*;

    #[test]
    fn an_acceptance_from_a_tablet_whose_clock_runs_ahead_does_not_undo_a_withdrawal() {
        let backend = common::Backend::new();
        // The tablet's clock runs 20 h ahead; it accepts 50 minutes before the phone withdraws.
        let tablet = Fixture::new();
        tablet.clock.set(T0 - 50 * 60_000 + 20 * 3_600_000);
        let t = tablet.open_witnessed(&backend);
        t.set_subject(Some("account-7".into())).unwrap();
        t.accept_all().unwrap();
        let acceptance = t.pending_receipts(1).unwrap().remove(0).receipt_json;

        let phone = Fixture::new();
        let p = phone.open_witnessed(&backend);
        p.set_subject(Some("account-7".into())).unwrap();
        p.accept_all().unwrap();
        phone.clock.advance_ms(1000);
        p.withdraw().unwrap();

        // Not yet synced: the two cannot be ordered, and the restriction wins.
        let countersigned = backend.countersign(&acceptance, T0 + 60_000);
        p.import_receipt(countersigned.clone()).unwrap();
        nothing_optional_runs(&p);

        // Synced: the back end saw the withdrawal after the acceptance.
        backend.witness_all(&p, T0 + 120_000);
        assert!(!p.import_receipt(countersigned).unwrap());
        nothing_optional_runs(&p);
    }
}

mod finding_4_shared_device {
    use super::*;

    #[test]
    fn someone_elses_acceptance_on_a_shared_tablet_never_reaches_the_account() {
        let backend = common::Backend::new();
        let tablet = Fixture::new();
        let t = tablet.open_witnessed(&backend);
        t.accept_all().unwrap(); // somebody, not logged in
        t.set_subject(Some("account-7".into())).unwrap();
        nothing_optional_runs(&t);
        assert!(
            t.pending_receipts(10)
                .unwrap()
                .iter()
                .all(|p| !p.receipt_json.contains("account-7")),
            "nothing of the account's is queued"
        );

        let phone = Fixture::new();
        phone.clock.advance_ms(60_000);
        let p = phone.open_witnessed(&backend);
        p.set_subject(Some("account-7".into())).unwrap();
        p.reject_all().unwrap();
        for pending in t.pending_receipts(10).unwrap() {
            let signed = backend.countersign(&pending.receipt_json, T0 + 120_000);
            assert!(p.import_receipt(signed).is_err() || !p.can_start("google_mobile_ads".into()));
        }
        nothing_optional_runs(&p);
    }
}

mod finding_5_policy_changed_without_a_new_revision {
    use super::*;

    fn with_revision(revision: u64, edit: impl FnOnce(&mut Value)) -> String {
        policy_with(|p| {
            p["revision"] = json!(revision);
            edit(p);
        })
    }

    #[test]
    fn opening_with_a_lower_revision_than_the_decision_grants_nothing() {
        let f = Fixture::new();
        f.open_with(&with_revision(3, |_| {})).accept_all().unwrap();
        let m = f.open_with(&with_revision(2, |_| {}));
        assert!(m.status().needs_prompt);
        nothing_optional_runs(&m);
    }

    #[test]
    fn an_sdk_moved_into_a_granted_category_at_the_same_revision_is_not_allowed() {
        let f = Fixture::new();
        let m = f.open();
        // Marketing granted, statistics refused.
        m.save([(Category::Marketing, true)].into()).unwrap();
        assert!(!m.can_start("firebase_analytics".into()));
        drop(m);
        // firebase_analytics (statistics) moved to marketing, same revision.
        let moved = policy_with(|p| p["sdks"][1]["category"] = json!("marketing"));
        let m = f.open_with(&moved);
        assert!(!m.can_start("firebase_analytics".into()));
        assert!(m.status().needs_prompt);
        // The same through update_policy.
        let f = Fixture::new();
        let m = f.open();
        m.save([(Category::Marketing, true)].into()).unwrap();
        let _ = m.update_policy(moved);
        assert!(!m.can_start("firebase_analytics".into()));
    }

    #[test]
    fn an_sdk_added_or_a_longer_lifetime_at_the_same_revision_changes_nothing_silently() {
        let f = Fixture::new();
        let m = f.open_with(&policy_with(|p| {
            p["consent_lifetime_days"] = json!(30);
            p["refusal_reprompt_days"] = json!(30);
        }));
        m.accept_all().unwrap();
        drop(m);
        let longer = policy_with(|p| {
            p["consent_lifetime_days"] = json!(390);
            p["refusal_reprompt_days"] = json!(30);
            let mut sdk = p["sdks"][3].clone();
            sdk["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(sdk);
        });
        f.clock.advance_days(31);
        let m = f.open_with(&longer);
        assert!(m.status().needs_prompt);
        assert!(!m.can_start("new_ads".into()));
        assert!(
            !m.can_start("google_mobile_ads".into()),
            "30 days were shown"
        );
    }

    #[test]
    fn a_page_rendered_before_an_update_records_nothing() {
        let f = Fixture::new();
        let m = f.open();
        let page = m.consent_page("fr".into(), ConsentPageLayer::Banner);
        let added = policy_with(|p| {
            let mut sdk = p["sdks"][3].clone();
            sdk["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(sdk);
        });
        let _ = m.update_policy(added);
        assert!(m
            .apply_ui_message(ui(&token_of(&page), "accept_all"))
            .is_err());
        assert!(m.history().unwrap().is_empty());
        assert!(!m.can_start("new_ads".into()));
    }

    #[test]
    fn under_a_new_revision_an_sdk_refused_in_its_old_category_stays_refused() {
        let f = Fixture::new();
        let m = f.open();
        m.save([(Category::Marketing, true)].into()).unwrap(); // statistics refused
        let moved = with_revision(2, |p| p["sdks"][1]["category"] = json!("marketing"));
        m.update_policy(moved).unwrap();
        assert!(
            !m.can_start("firebase_analytics".into()),
            "refused under statistics"
        );
        assert!(
            m.can_start("google_mobile_ads".into()),
            "shown under marketing"
        );
    }

    #[test]
    fn a_receipt_describes_the_policy_that_was_shown() {
        let f = Fixture::new();
        let m = f.open();
        m.accept_all().unwrap();
        let before: Value = serde_json::from_str(&m.export_proof().unwrap()).unwrap();
        m.update_policy(with_revision(2, |p| {
            p["sdks"].as_array_mut().unwrap().remove(3);
            p["controller"]["name"] = json!("KmerOccase SARL");
        }))
        .unwrap();
        let after: Value = serde_json::from_str(&m.export_proof().unwrap()).unwrap();
        assert_eq!(after, before, "the receipt of one record never changes");
        assert_eq!(after["controller"]["name"], "KmerOccase");
    }
}

mod finding_6_page_messages {
    use super::*;

    #[test]
    fn a_captured_acceptance_replayed_after_a_withdrawal_is_refused() {
        let f = Fixture::new();
        let m = f.open();
        let page = m.consent_page("fr".into(), ConsentPageLayer::Banner);
        let captured = ui(&token_of(&page), "accept_all");
        m.apply_ui_message(captured.clone()).unwrap();
        m.withdraw().unwrap();
        for _ in 0..100 {
            assert!(m.apply_ui_message(captured.clone()).is_err());
        }
        nothing_optional_runs(&m);
        assert_eq!(m.history().unwrap().len(), 2);
    }

    #[test]
    fn a_page_rendered_for_one_user_is_refused_for_another() {
        let f = Fixture::new();
        let m = f.open();
        m.set_subject(Some("alice".into())).unwrap();
        let page = m.consent_page("fr".into(), ConsentPageLayer::Banner);
        m.set_subject(Some("bob".into())).unwrap();
        assert!(m
            .apply_ui_message(ui(&token_of(&page), "accept_all"))
            .is_err());
        nothing_optional_runs(&m);
    }

    #[test]
    fn a_token_exactly_a_day_old_is_refused() {
        let f = Fixture::new();
        let m = f.open();
        let page = m.consent_page("fr".into(), ConsentPageLayer::Banner);
        f.clock.advance_ms(DAY_MS);
        assert!(matches!(
            m.apply_ui_message(ui(&token_of(&page), "accept_all")),
            Err(ConsentError::InvalidUiMessage { .. })
        ));
    }
}

mod finding_7_clock_pushed_ahead {
    use super::*;

    #[test]
    fn a_clock_a_year_ahead_then_corrected_does_not_stretch_consent() {
        let f = Fixture::new();
        f.clock.set(T0 + 365 * DAY_MS);
        let m = f.open();
        m.accept_all().unwrap(); // dated a year ahead
        f.clock.set(T0); // corrected
        assert!(
            m.status().needs_prompt,
            "a decision from the future is not in force"
        );
        nothing_optional_runs(&m);
        let status = m.accept_all().unwrap();
        assert_eq!(status.decided_at_ms, Some(T0), "dated by the clock now");
        // It lasts the policy's lifetime from the real tap, not from the future date.
        f.clock.advance_days(391);
        nothing_optional_runs(&m);
    }

    #[test]
    fn a_clock_that_once_read_9999_does_not_date_later_decisions() {
        let f = Fixture::new();
        f.clock.set(253_402_214_400_000 - DAY_MS); // 9999-12-30
        let m = f.open();
        nothing_optional_runs(&m);
        m.reject_all().unwrap();
        drop(m);
        f.clock.set(T0);
        let m = f.open();
        let status = m.accept_all().unwrap();
        assert_eq!(status.decided_at_ms, Some(T0));
        assert!(m.can_start("google_mobile_ads".into()));
        f.clock.advance_days(391);
        assert!(!m.can_start("google_mobile_ads".into()), "it expires");
    }
}

mod finding_8_withdrawal_on_a_full_disk {
    use super::*;

    #[test]
    fn a_withdrawal_that_cannot_be_written_still_closes_the_gate() {
        let f = Fixture::new();
        let policy = sample_policy_json();
        let m = ConsentManager::open_with(
            &f.db(),
            &policy,
            "fr",
            OpenOptions {
                max_database_pages: Some(14),
                ..f.options()
            },
        )
        .unwrap();
        m.accept_all().unwrap();
        // Fill the disk.
        let mut filler = 0;
        loop {
            f.clock.advance_ms(1000);
            if m.accept_all().is_err() {
                break;
            }
            filler += 1;
            assert!(filler < 10_000);
        }
        assert!(m.can_start("google_mobile_ads".into()));
        let status = m
            .withdraw()
            .expect("a withdrawal takes effect even unwritten");
        assert!(status.needs_prompt || !status.categories[&Category::Marketing]);
        nothing_optional_runs(&m);
    }
}
