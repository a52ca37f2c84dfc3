//! The store through the manager: persistence, migration, corruption recovery, unusable paths,
//! failed writes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{sample_policy_json, Fixture, T0};
use kmer_consent::{
    Category, ConsentManager, DecisionSource, KmerConsentError, OpenOptions, PromptReason, DAY_MS,
};
use rusqlite::Connection;

/// Every table, index and trigger of a store by name, with its SQL as SQLite keeps it, comments and
/// layout left out: a store upgraded step by step (whose `ALTER TABLE`s SQLite appends to the table's
/// text) and a fresh one made from the current schema in one text compare equal when they have the
/// same columns in the same order, with the same types, constraints and defaults.
fn schema_of(path: &Path) -> BTreeMap<String, String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, without_layout(&r.get::<_, String>(1)?)))
        })
        .unwrap()
        .map(Result::unwrap);
    let mut schema: BTreeMap<String, String> = rows.collect();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    schema.insert("user_version".into(), version.to_string());
    schema
}

/// SQL without its comments, and with one spelling of the space between words and none around
/// punctuation.
fn without_layout(sql: &str) -> String {
    let words: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .collect();
    let mut text = words.join(" ");
    for (spaced, tight) in [(" ,", ","), (", ", ","), ("( ", "("), (" )", ")")] {
        text = text.replace(spaced, tight);
    }
    text
}

fn storage_message(result: Result<std::sync::Arc<ConsentManager>, kmer_consent::Error>) -> String {
    match result.map_err(KmerConsentError::from) {
        Err(KmerConsentError::Storage { reason }) => reason,
        Err(other) => panic!("expected a storage error, got {other:?}"),
        Ok(_) => panic!("expected a storage error, the store opened"),
    }
}

#[test]
fn a_decision_survives_closing_and_reopening() {
    let f = Fixture::new();
    let m = f.open();
    m.save([(Category::Statistics, true)].into()).unwrap();
    drop(m);

    let m = f.open();
    let status = m.status();
    assert!(!status.needs_prompt);
    assert!(status.categories[&Category::Statistics]);
    assert!(!status.categories[&Category::Marketing]);
    assert_eq!(status.last_source, Some(DecisionSource::Save));
    assert_eq!(status.decided_at_ms, Some(T0));
    assert!(m.can_start("firebase_analytics".into()));
    assert_eq!(m.history().unwrap().len(), 1);
}

#[test]
fn a_decision_is_committed_when_the_call_returns() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    // Another connection, as another process would, sees it at once.
    let other = Connection::open(f.db()).unwrap();
    let (source, marketing): (String, bool) = other
        .query_row("SELECT source, marketing FROM decisions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((source.as_str(), marketing), ("accept_all", true));
    let mode: String = other
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn decisions_are_append_only() {
    let f = Fixture::new();
    f.open().accept_all().unwrap();
    let conn = Connection::open(f.db()).unwrap();
    let update = conn.execute("UPDATE decisions SET marketing = 0", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM decisions", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[test]
fn a_version_1_database_opens_and_matches_a_fresh_one() {
    let f = Fixture::new();
    let old = f.dir.path().join("v1.db");
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(include_str!("fixtures/schema-v1.sql"))
            .unwrap();
        conn.execute(
            "INSERT INTO decisions (decided_at_ms, policy_id, policy_revision, source, locale, \
             statistics, personalization, marketing, sdks_shown) \
             VALUES (?1, 'kmeroccase', 1, 'reject_all', 'fr', 0, 0, 0, '[\"kmer_session\"]')",
            [T0 - 1000],
        )
        .unwrap();
    }
    let m = ConsentManager::open_with(&old, &sample_policy_json(), "fr", f.options()).unwrap();
    assert_eq!(m.status().last_source, Some(DecisionSource::RejectAll));
    assert_eq!(m.history().unwrap()[0].decided_at_ms, T0 - 1000);
    drop(m);

    drop(f.open());
    assert_eq!(schema_of(&old), schema_of(&f.db()));
}

#[test]
fn a_version_2_store_upgrades_to_what_a_fresh_one_is_and_keeps_what_it_knew() {
    let f = Fixture::new();
    let old = f.dir.path().join("v2.db");
    Connection::open(&old)
        .unwrap()
        .execute_batch(include_str!("fixtures/schema-v2.sql"))
        .unwrap();
    // The clock now reads before the expiry the old store had seen (its clock mark).
    f.clock.set(T0 + 10 * DAY_MS);
    let m = ConsentManager::open_with(&old, &sample_policy_json(), "fr", f.options()).unwrap();
    assert_eq!(
        m.status().prompt_reason,
        Some(PromptReason::Expired),
        "the old clock mark still stops the clock moved back from reviving it"
    );
    assert!(!m.can_start("firebase_analytics".into()));
    assert!(m.verify_history().unwrap().intact);
    // The adoption that the old version queued is not sent to the back end.
    let pending: Vec<i64> = m
        .pending_receipts(10)
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(pending, [1]);
    kmer_consent::verify_receipt(&m.pending_receipts(1).unwrap()[0].receipt_json)
        .expect("an old record's receipt verifies: its policy text was stored");
    drop(m);
    drop(f.open());
    assert_eq!(schema_of(&old), schema_of(&f.db()));
}

#[test]
fn a_database_from_a_newer_sdk_is_refused_and_left_untouched() {
    let f = Fixture::new();
    drop(f.open());
    Connection::open(f.db())
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let before = std::fs::read(f.db()).unwrap();
    let message = storage_message(ConsentManager::open_with(
        &f.db(),
        &sample_policy_json(),
        "fr",
        f.options(),
    ));
    assert!(message.contains("schema version 99"), "{message}");
    assert_eq!(std::fs::read(f.db()).unwrap(), before);
    assert!(moved_aside(f.dir.path()).is_empty(), "no file moved aside");
}

fn moved_aside(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".corrupt-"))
        .collect()
}

#[test]
fn a_file_that_is_not_a_database_is_moved_aside() {
    let f = Fixture::new();
    let garbage = b"this is not SQLite, it is a note someone left here".repeat(100);
    std::fs::write(f.db(), &garbage).unwrap();

    let m = f.open();
    let status = m.status();
    assert!(status.store_recovered);
    assert_eq!(status.prompt_reason, Some(PromptReason::NoDecision));
    assert!(!m.can_start("firebase_analytics".into()));

    let aside = moved_aside(f.dir.path());
    let expected = format!("consent.db.corrupt-{}", T0 / 1000);
    assert_eq!(aside, vec![expected.clone()]);
    assert_eq!(std::fs::read(f.dir.path().join(expected)).unwrap(), garbage);

    // The fresh store works, and the next open is a normal one.
    m.accept_all().unwrap();
    drop(m);
    let m = f.open();
    assert!(!m.status().store_recovered);
    assert!(m.can_start("firebase_analytics".into()));
}

#[test]
fn a_database_with_a_smashed_header_is_moved_aside() {
    let f = Fixture::new();
    let m = f.open();
    m.accept_all().unwrap();
    drop(m);
    let mut bytes = std::fs::read(f.db()).unwrap();
    for (i, b) in bytes.iter_mut().take(100).enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    std::fs::write(f.db(), &bytes).unwrap();
    let _ = std::fs::remove_file(f.dir.path().join("consent.db-wal"));

    let m = f.open();
    assert!(m.status().store_recovered);
    assert_eq!(m.status().prompt_reason, Some(PromptReason::NoDecision));
    assert_eq!(moved_aside(f.dir.path()).len(), 1);
}

#[test]
fn an_unreadable_record_is_recovered_not_trusted() {
    let f = Fixture::new();
    f.open().accept_all().unwrap();
    {
        let conn = Connection::open(f.db()).unwrap();
        conn.execute_batch(
            "DROP TRIGGER decisions_are_append_only_update; \
             UPDATE decisions SET source = 'rubbish';",
        )
        .unwrap();
    }
    let m = f.open();
    assert!(m.status().store_recovered);
    assert!(!m.can_start("google_mobile_ads".into()));
}

#[test]
fn a_store_with_a_value_too_large_to_be_ours_is_moved_aside() {
    let f = Fixture::new();
    f.open().accept_all().unwrap();
    {
        // 64 MiB of SDK list: a hostile or damaged file, not anything the SDK writes.
        let conn = Connection::open(f.db()).unwrap();
        conn.execute_batch(
            "DROP TRIGGER decisions_are_append_only_update; \
             UPDATE decisions SET sdks_shown = '[\"' || hex(zeroblob(32 * 1024 * 1024)) || '\"]';",
        )
        .unwrap();
    }
    let m = f.open();
    assert!(
        m.status().store_recovered,
        "moved aside, a fresh store opened"
    );
    assert!(!m.can_start("google_mobile_ads".into()));
}

#[test]
fn a_path_that_cannot_be_opened_is_a_storage_error_naming_it() {
    let f = Fixture::new();
    let missing_dir = f.dir.path().join("no/such/dir/consent.db");
    let message = storage_message(ConsentManager::open_with(
        &missing_dir,
        &sample_policy_json(),
        "fr",
        f.options(),
    ));
    assert!(
        message.contains(&missing_dir.display().to_string()),
        "{message}"
    );

    let a_dir = f.dir.path().join("a-directory");
    std::fs::create_dir(&a_dir).unwrap();
    let message = storage_message(ConsentManager::open_with(
        &a_dir,
        &sample_policy_json(),
        "fr",
        f.options(),
    ));
    assert!(message.contains("a-directory"), "{message}");
    assert!(a_dir.is_dir(), "a directory is never moved aside");
}

#[test]
fn an_invalid_policy_touches_no_file() {
    let f = Fixture::new();
    let result = ConsentManager::open_with(&f.db(), "{}", "fr", f.options());
    assert!(matches!(
        result.map_err(KmerConsentError::from),
        Err(KmerConsentError::InvalidPolicy { .. })
    ));
    assert!(!f.db().exists());
}

#[test]
fn a_grant_that_cannot_be_written_changes_nothing_and_a_refusal_takes_effect_anyway() {
    let f = Fixture::new();
    let m = f.open();
    m.save([(kmer_consent::Category::Statistics, true)].into())
        .unwrap();
    let before = m.snapshot();

    // Another connection holds the write lock longer than the busy timeout.
    let blocker = f.lock_store();
    let started = std::time::Instant::now();
    let result = m.accept_all();
    assert!(
        matches!(result, Err(KmerConsentError::Storage { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it waited for the lock first"
    );
    assert_eq!(
        m.snapshot(),
        before,
        "memory does not claim the unsaved grant"
    );
    assert!(!m.can_start("google_mobile_ads".into()));

    // A refusal is not refused: it takes effect at once, and says it is not saved yet.
    let status = m.reject_all().expect("a refusal takes effect");
    assert!(status.status.not_yet_saved);
    assert!(!m.can_start("firebase_analytics".into()));
    assert_eq!(m.history().unwrap().len(), 1, "not on disk yet");
    blocker.execute_batch("ROLLBACK").unwrap();

    // Once the lock is gone it is written, with the time it was made.
    let status = m.refresh().unwrap();
    assert!(!status.status.not_yet_saved);
    let history = m.history().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].source, kmer_consent::DecisionSource::RejectAll);
    assert!(!m.can_start("firebase_analytics".into()));
    drop(m);
    assert!(!f.open().can_start("firebase_analytics".into()), "on disk");
}

#[test]
fn a_first_refusal_the_store_cannot_take_is_kept_and_written_later() {
    let f = Fixture::new();
    let m = f.open();
    let blocker = f.lock_store();
    let status = m.reject_all().expect("the user's answer is not lost");
    assert!(status.status.not_yet_saved);
    assert!(!status.status.needs_prompt, "the banner does not come back");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert!(!m.refresh().unwrap().status.not_yet_saved);
    assert_eq!(m.history().unwrap()[0].source, DecisionSource::RejectAll);
}

#[test]
fn options_default_to_the_system_clock() {
    let f = Fixture::new();
    let m = ConsentManager::open_with(&f.db(), &sample_policy_json(), "fr", OpenOptions::default())
        .unwrap();
    m.accept_all().unwrap();
    let decided = m.status().decided_at_ms.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((now - decided).abs() < 60_000);
}
