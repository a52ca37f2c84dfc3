//! The trust model, finding by finding: nothing but this user's own explicit choice on the policy
//! as it was shown can grant. Each test reproduces one way consent was granted without the user
//! (issue 13) and asserts that it no longer is.

mod common;

use common::{policy_with, sample_policy_json, token_of, Fixture, T0};
use kmer_consent::{
    canonical_json, sha256_hex, Category, ConsentManager, ConsentPageLayer, KmerConsentError,
    OpenOptions, DAY_MS,
};
use rusqlite::Connection;
use serde_json::{json, Value};

fn ui(token: &str, action: &str) -> String {
    common::page_message(token, action, None)
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

/// A receipt of "accept all" for `account-7`, exported by a real store: what anyone can compute,
/// since a receipt is checked with nothing but its own contents.
fn genuine_receipt() -> Value {
    let f = Fixture::new();
    let m = f.open();
    m.set_subject(Some("account-7".into())).unwrap();
    m.accept_all().unwrap();
    serde_json::from_str(&m.export_proof().unwrap().unwrap()).unwrap()
}

/// `receipt` with its record edited by hand and every hash recomputed, as a forger would.
fn forged(receipt: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut forged = receipt.clone();
    edit(&mut forged["record"]);
    let hash = sha256_hex(canonical_json(&forged["record"]).as_bytes());
    forged["receipt_id"] = json!(hash);
    forged["integrity"]["record_hash"] = json!(hash);
    forged
}

fn refusal_of(receipt: &Value) -> String {
    kmer_consent::verify_receipt(&receipt.to_string()).expect_err("it verified")
}

mod finding_1_forged_receipts {
    use super::*;
    use common::Backend;

    #[test]
    fn a_record_edited_by_hand_is_refused_for_what_it_claims() {
        let genuine = genuine_receipt();
        kmer_consent::verify_receipt(&genuine.to_string()).expect("the genuine one verifies");
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit, &str); 7] = [
            (
                "a grant in year 0001",
                |r| r["decided_at_ms"] = json!(-62_135_596_800_000i64),
                "between 2020 and 2100",
            ),
            (
                "a grant in year 9999",
                |r| r["decided_at_ms"] = json!(253_402_214_400_000i64),
                "between 2020 and 2100",
            ),
            (
                "a revision that was never shown",
                |r| r["policy_revision"] = json!(999),
                "another policy id or revision",
            ),
            (
                "a withdrawal that grants",
                |r| r["source"] = json!("withdraw"),
                "cannot grant anything",
            ),
            (
                "an unknown event type",
                |r| r["source"] = json!("telepathy"),
                "unknown record.source",
            ),
            (
                "an SDK that was not listed",
                |r| {
                    r["sdks_shown"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!("not_yet_listed"))
                },
                "SDKs are not the ones its policy lists",
            ),
            (
                "another subject, the readable one left",
                |r| r["subject"] = json!("someone-else"),
                "subject does not say",
            ),
        ];
        for (what, edit, reason) in cases {
            let refused = refusal_of(&forged(&genuine, edit));
            assert!(refused.contains(reason), "{what}: {refused}");
        }
    }

    #[test]
    fn readable_fields_that_contradict_the_record_are_caught() {
        let real = genuine_receipt();
        type Edit = fn(&mut Value);
        let edits: [(&str, Edit); 6] = [
            ("subject", |r| r["subject"] = json!("someone-else")),
            ("validity", |r| {
                r["validity"]["expires_utc"] = json!("2999-01-01T00:00:00.000Z")
            }),
            ("controller", |r| r["controller"]["name"] = json!("Other")),
            ("categories", |r| {
                r["categories"][3]["sdks"] = json!(["google_mobile_ads"])
            }),
            ("extra", |r| r["extra"] = json!(true)),
            ("event", |r| {
                r["event"]["collection_method"] = json!("banner: reject all")
            }),
        ];
        for (what, edit) in edits {
            let mut changed = real.clone();
            edit(&mut changed);
            let refused = refusal_of(&changed);
            assert!(refused.starts_with(what), "{what}: {refused}");
        }
    }

    #[test]
    fn a_consistent_receipt_anyone_can_compute_is_not_imported_without_the_back_ends_signature() {
        // Integrity alone: it verifies offline, as any consistent receipt would.
        let genuine = genuine_receipt();
        kmer_consent::verify_receipt(&genuine.to_string()).unwrap();
        let backend = Backend::new();
        let key = kmer_consent::BackendKey::parse(&backend.public_key()).unwrap();
        assert!(
            kmer_consent::verify_receipt_with_key(&genuine.to_string(), &key)
                .unwrap_err()
                .contains("no witness")
        );

        let f = Fixture::new();
        f.clock.advance_ms(60_000);
        let m = f.logged_in(&backend, "account-7");
        let impostor = Backend::new();
        for refused in [
            genuine.to_string(),
            impostor.countersign(&genuine.to_string(), T0 + 2000),
            backend.countersign(
                &forged(&genuine, |r| r["policy_revision"] = json!(999)).to_string(),
                T0 + 2000,
            ),
        ] {
            assert!(matches!(
                m.import_receipt(refused),
                Err(KmerConsentError::InvalidReceipt { .. })
            ));
        }
        nothing_optional_runs(&m);
        assert!(m.history().unwrap().is_empty(), "nothing recorded");
        // Signed by the back end the app trusts, the same receipt is imported: the refusals above
        // came from the signature, not from something else about the receipt.
        assert!(m
            .import_receipt(backend.countersign(&genuine.to_string(), T0 + 2000))
            .unwrap()
            .is_some());
        assert!(m.can_start("google_mobile_ads".into()));
    }

    #[test]
    fn without_a_back_end_key_nothing_is_imported() {
        let backend = Backend::new();
        let f = Fixture::new();
        f.clock.advance_ms(60_000);
        let m = f.open();
        m.set_subject(Some("account-7".into())).unwrap();
        let signed = backend.countersign(&genuine_receipt().to_string(), T0 + 2000);
        assert!(matches!(
            m.import_receipt(signed),
            Err(KmerConsentError::BackendKey { .. })
        ));
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
        assert!(p.import_receipt(countersigned).unwrap().is_none());
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
        let pending = t.pending_receipts(10).unwrap();
        assert_eq!(pending.len(), 1, "the anonymous acceptance, and only it");
        for pending in pending {
            let signed = backend.countersign(&pending.receipt_json, T0 + 120_000);
            assert!(matches!(
                p.import_receipt(signed),
                Err(KmerConsentError::InvalidReceipt { .. })
            ));
        }
        nothing_optional_runs(&p);
        assert!(p.history().unwrap().is_empty());
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
        let status = m.update_policy(moved).unwrap();
        assert_eq!(
            status.status.prompt_reason,
            Some(kmer_consent::PromptReason::PolicyEditedInPlace)
        );
        assert!(!m.can_start("firebase_analytics".into()));
    }

    #[test]
    fn an_sdk_added_at_the_same_revision_is_not_allowed_and_asks_again() {
        let f = Fixture::new();
        f.open().accept_all().unwrap();
        let added = policy_with(|p| {
            let mut sdk = p["sdks"][3].clone();
            sdk["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(sdk);
        });
        let m = f.open_with(&added);
        assert_eq!(
            m.status().prompt_reason,
            Some(kmer_consent::PromptReason::PolicyEditedInPlace)
        );
        assert!(!m.can_start("new_ads".into()));
    }

    #[test]
    fn a_longer_lifetime_at_the_same_revision_changes_nothing_silently() {
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
        });
        f.clock.advance_days(31);
        let m = f.open_with(&longer);
        assert!(m.status().needs_prompt);
        assert!(
            !m.can_start("google_mobile_ads".into()),
            "30 days were shown"
        );
    }

    #[test]
    fn a_page_rendered_before_an_update_records_nothing() {
        let f = Fixture::new();
        let m = f.open();
        let page = m
            .consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap();
        let added = policy_with(|p| {
            let mut sdk = p["sdks"][3].clone();
            sdk["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(sdk);
        });
        m.update_policy(added).unwrap();
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
        let before: Value = serde_json::from_str(&m.export_proof().unwrap().unwrap()).unwrap();
        m.update_policy(with_revision(2, |p| {
            p["sdks"].as_array_mut().unwrap().remove(3);
            p["controller"]["name"] = json!("KmerOccase SARL");
        }))
        .unwrap();
        let after: Value = serde_json::from_str(&m.export_proof().unwrap().unwrap()).unwrap();
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
        let page = m
            .consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap();
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
        let page = m
            .consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap();
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
        let page = m
            .consent_page("fr".into(), ConsentPageLayer::Banner)
            .unwrap();
        f.clock.advance_ms(DAY_MS);
        assert!(matches!(
            m.apply_ui_message(ui(&token_of(&page), "accept_all")),
            Err(KmerConsentError::InvalidUiMessage { .. })
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
        assert_eq!(
            status.status.decided_at_ms,
            Some(T0),
            "dated by the clock now"
        );
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
        assert_eq!(status.status.decided_at_ms, Some(T0));
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
            if let Err(error) = m.accept_all() {
                assert!(
                    matches!(error, KmerConsentError::Storage { .. }),
                    "{error:?}"
                );
                break;
            }
            filler += 1;
            assert!(filler < 10_000);
        }
        assert!(m.can_start("google_mobile_ads".into()));
        let status = m
            .withdraw()
            .expect("a withdrawal takes effect even unwritten");
        assert!(status.status.not_yet_saved);
        assert!(!status.status.categories[&Category::Marketing]);
        nothing_optional_runs(&m);
    }
}

/// What the adversarial review of the trust model found, each now a guard.
mod review {
    use super::*;
    use common::Backend;
    use std::collections::HashMap;

    const HOUR: i64 = 3_600_000;

    fn ads(m: &ConsentManager) -> bool {
        m.can_start("google_mobile_ads".into())
    }

    fn choose(stats: bool, marketing: bool) -> HashMap<Category, bool> {
        HashMap::from([
            (Category::Statistics, stats),
            (Category::Personalization, false),
            (Category::Marketing, marketing),
        ])
    }

    /// `account-7` logged in on `f`, opened with `json` as the policy.
    fn open_on(f: &Fixture, backend: &Backend, json: &str) -> std::sync::Arc<ConsentManager> {
        let m = f.open_witnessed_with(backend, json);
        m.set_subject(Some("account-7".into())).unwrap();
        m
    }

    #[test]
    fn a_withdrawal_that_does_not_count_now_still_stands_against_an_older_import() {
        let backend = Backend::new();
        let tablet = Fixture::new();
        tablet.clock.set(T0 - HOUR);
        let t = tablet.logged_in(&backend, "account-7");
        t.accept_all().unwrap();
        let acceptance = backend.countersign(
            &t.pending_receipts(1).unwrap().remove(0).receipt_json,
            T0 - 50 * 60_000,
        );
        // The phone's clock runs 2 h ahead when the user withdraws; the back end sees it after the
        // acceptance; then network time corrects the clock and the withdrawal is "in the future".
        let phone = Fixture::new();
        phone.clock.set(T0 + 2 * HOUR);
        let p = phone.logged_in(&backend, "account-7");
        p.withdraw().unwrap();
        backend.witness_all(&p, T0);
        phone.clock.set(T0 + 60_000);
        p.refresh().unwrap();
        p.import_receipt(acceptance).unwrap();
        nothing_optional_runs(&p);
    }

    #[test]
    fn a_withdrawal_on_a_rolled_back_policy_still_stands_against_an_older_import() {
        let backend = Backend::new();
        let tablet = Fixture::new();
        tablet.clock.set(T0 - HOUR);
        let t = open_on(&tablet, &backend, &sample_policy_json());
        t.accept_all().unwrap();
        let acceptance = backend.countersign(
            &t.pending_receipts(1).unwrap().remove(0).receipt_json,
            T0 - 50 * 60_000,
        );
        let phone = Fixture::new();
        let p = open_on(&phone, &backend, &policy_with(|p| p["revision"] = json!(2)));
        p.withdraw().unwrap();
        backend.witness_all(&p, T0);
        drop(p);
        let p = open_on(&phone, &backend, &sample_policy_json());
        p.import_receipt(acceptance).unwrap();
        nothing_optional_runs(&p);
    }

    #[test]
    fn a_stale_acceptance_that_reaches_the_back_end_late_does_not_undo_a_withdrawal() {
        let backend = Backend::new();
        let phone = Fixture::new();
        phone.clock.set(T0 - DAY_MS);
        let p = phone.logged_in(&backend, "account-7");
        p.accept_all().unwrap();
        let old = p.pending_receipts(1).unwrap().remove(0).receipt_json;
        let tablet = Fixture::new();
        let t = tablet.logged_in(&backend, "account-7");
        t.withdraw().unwrap();
        backend.witness_all(&t, T0 + 10);
        // The phone's outbox entry arrives (or is sent again) after that.
        let late = backend.countersign(&old, T0 + 20);
        assert!(t.import_receipt(late).unwrap().is_none());
        nothing_optional_runs(&t);
    }

    #[test]
    fn a_refusal_held_for_one_user_survives_another_users_calls() {
        let f = Fixture::new();
        let m = f.open();
        m.set_subject(Some("alice".into())).unwrap();
        m.save(choose(true, false)).unwrap();
        m.set_subject(Some("bob".into())).unwrap();
        m.reject_all().unwrap();
        m.set_subject(Some("alice".into())).unwrap();
        assert!(m.can_start("firebase_analytics".into()));
        let held = f.lock_store();
        // Alice moves from statistics to marketing only: the write fails, the refusal holds.
        assert!(m.save(choose(false, true)).is_err());
        assert!(!m.can_start("firebase_analytics".into()));
        held.execute_batch("ROLLBACK").unwrap();
        m.set_subject(Some("bob".into())).unwrap();
        m.refresh().unwrap();
        m.set_subject(Some("alice".into())).unwrap();
        assert!(
            !m.can_start("firebase_analytics".into()),
            "alice's refusal was lost"
        );
    }

    #[test]
    fn two_users_withdrawals_held_at_once_are_both_written() {
        let f = Fixture::new();
        let m = f.open();
        for user in ["alice", "bob"] {
            m.set_subject(Some(user.into())).unwrap();
            m.accept_all().unwrap();
        }
        m.set_subject(Some("alice".into())).unwrap();
        let held = f.lock_store();
        assert!(m.withdraw().unwrap().status.not_yet_saved);
        m.set_subject(Some("bob".into())).unwrap();
        assert!(m.withdraw().unwrap().status.not_yet_saved);
        held.execute_batch("ROLLBACK").unwrap();
        m.refresh().unwrap();
        for user in ["alice", "bob"] {
            m.set_subject(Some(user.into())).unwrap();
            assert!(!ads(&m), "{user}");
            let sources: Vec<_> = m.history().unwrap().iter().map(|r| r.source).collect();
            assert_eq!(
                sources,
                [
                    kmer_consent::DecisionSource::AcceptAll,
                    kmer_consent::DecisionSource::Withdraw
                ],
                "{user}"
            );
        }
    }

    #[test]
    fn a_store_upgraded_from_schema_2_does_not_expire_new_decisions() {
        // A store the release before schema 3 wrote: its acceptance at T0 seen expired by its clock
        // mark (400 days later).
        let f = Fixture::new();
        Connection::open(f.db())
            .unwrap()
            .execute_batch(include_str!("fixtures/schema-v2.sql"))
            .unwrap();
        f.clock.set(T0 + 10 * DAY_MS);
        let m = f.open();
        assert!(!ads(&m), "the old mark still holds for the old decision");
        m.accept_all().unwrap();
        assert!(ads(&m));
        drop(m);
        f.clock.advance_ms(60_000);
        assert!(
            ads(&f.open()),
            "a decision made after the upgrade stands at the next launch"
        );
    }

    #[test]
    fn a_held_withdrawal_written_after_a_policy_update_keeps_its_text() {
        let f = Fixture::new();
        let m = f.open();
        m.accept_all().unwrap();
        m.update_policy(policy_with(|p| p["revision"] = json!(2)))
            .unwrap();
        let held = f.lock_store();
        m.withdraw().unwrap();
        m.update_policy(policy_with(|p| p["revision"] = json!(3)))
            .unwrap();
        held.execute_batch("ROLLBACK").unwrap();
        m.refresh().unwrap();
        assert!(m.verify_history().unwrap().intact);
        let receipt = m.export_proof().unwrap().unwrap();
        kmer_consent::verify_receipt(&receipt).expect("its receipt shows the text it was made on");
    }

    #[test]
    fn an_unwritten_narrower_choice_on_a_new_text_opens_nothing_new() {
        let f = Fixture::new();
        let m = f.open();
        m.accept_all().unwrap();
        m.update_policy(policy_with(|p| {
            p["revision"] = json!(2);
            let mut added = p["sdks"][3].clone();
            added["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(added);
        }))
        .unwrap();
        assert!(!m.can_start("new_ads".into()));
        let held = f.lock_store();
        // It grants nothing that is not granted now: held, to be written later.
        assert!(m.save(choose(false, true)).unwrap().status.not_yet_saved);
        let allowed = m.can_start("new_ads".into());
        held.execute_batch("ROLLBACK").unwrap();
        assert!(!allowed, "nothing written allows it");
    }

    #[test]
    fn a_category_with_an_sdk_the_user_never_saw_starts_off_on_the_page() {
        let f = Fixture::new();
        let m = f.open();
        m.accept_all().unwrap();
        m.update_policy(policy_with(|p| {
            p["revision"] = json!(2);
            let mut added = p["sdks"][3].clone();
            added["id"] = json!("new_ads");
            p["sdks"].as_array_mut().unwrap().push(added);
        }))
        .unwrap();
        let page = m
            .consent_page("fr".into(), ConsentPageLayer::Preferences)
            .unwrap();
        assert!(
            page.contains("data-category=\"marketing\" aria-describedby=\"d-marketing\">"),
            "marketing is not ticked in advance"
        );
        assert!(page
            .contains("data-category=\"statistics\" aria-describedby=\"d-statistics\" checked>"));
    }

    #[test]
    fn a_closed_page_cannot_be_answered_again() {
        let f = Fixture::new();
        let m = f.open();
        m.reject_all().unwrap();
        let token = token_of(
            &m.consent_page("fr".into(), ConsentPageLayer::Preferences)
                .unwrap(),
        );
        m.apply_ui_message(ui(&token, "close")).unwrap();
        f.clock.advance_ms(23 * HOUR);
        assert!(m.apply_ui_message(ui(&token, "accept_all")).is_err());
        nothing_optional_runs(&m);
    }

    #[test]
    fn a_refusal_made_under_an_untrusted_clock_can_still_be_synced() {
        for at in [253_402_214_400_000i64, 1_500_000_000_000] {
            let f = Fixture::new();
            f.clock.set(at);
            let m = f.open();
            m.withdraw().unwrap();
            let pending = m.pending_receipts(10).unwrap();
            kmer_consent::verify_receipt(&pending[0].receipt_json)
                .unwrap_or_else(|e| panic!("clock {at}: {e}"));
        }
    }

    #[test]
    fn a_forged_witness_is_never_relied_on() {
        let backend = Backend::new();
        let phone = Fixture::new();
        let p = phone.logged_in(&backend, "account-7");
        p.accept_all().unwrap();
        backend.witness_all(&p, T0 + 1000);
        drop(p);
        // Someone with the files pushes the witness's time to 2099, with no valid signature.
        Connection::open(phone.db())
            .unwrap()
            .execute(
                &format!(
                    "UPDATE witnesses SET backend_time_ms = 4070908800000, signature = '{}'",
                    "00".repeat(64)
                ),
                [],
            )
            .unwrap();
        let p = phone.logged_in(&backend, "account-7");
        let check = p.verify_history().unwrap();
        assert!(!check.intact, "{check:?}");
        nothing_optional_runs(&p);
        // A genuine withdrawal from another device, dated before the acceptance but seen by the
        // back end after it: the two cannot be ordered, so it restricts. Trusting the forged 2099
        // time would have called it older and ignored it.
        let tablet = Fixture::new();
        tablet.clock.set(T0 - 60_000);
        let t = tablet.logged_in(&backend, "account-7");
        t.withdraw().unwrap();
        let w = backend.countersign(
            &t.pending_receipts(1).unwrap().remove(0).receipt_json,
            T0 + 120_000,
        );
        phone.clock.advance_ms(180_000);
        assert!(p.import_receipt(w).unwrap().is_some());
        assert_eq!(
            p.status().last_source,
            Some(kmer_consent::DecisionSource::ImportMerged)
        );
        nothing_optional_runs(&p);
    }
}
