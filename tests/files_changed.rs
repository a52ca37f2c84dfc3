//! Files changed under an open store (issue 16, section 2): the `-wal` and `-shm` deleted, the
//! database replaced by another file, the store's directory removed. The rule for all of them: a
//! call that returns has its decision durably in the file at the path the app named; one that cannot
//! fails with a typed storage error and grants nothing; the store is reopened at the path the next
//! time it is needed. (The `-shm` deleted while another process writes needs a second process: it is
//! in `cli/tests/cli.rs`.)

mod common;

use std::path::{Path, PathBuf};

use common::Fixture;
use kmer_consent::{ConsentManager, DecisionSource, KmerConsentError};

const ADS: &str = "google_mobile_ads";

/// What is on disk at `db` now, as a process started after a power cut would see it: the database
/// and its `-wal` copied to a fresh directory (new files, so nothing of this process's open
/// connections is shared) and opened there. The sources of its decisions, oldest first.
fn on_disk(f: &Fixture, db: &Path) -> Vec<DecisionSource> {
    let copy = tempfile::tempdir().unwrap();
    let to = copy.path().join("consent.db");
    if !db.exists() {
        return Vec::new();
    }
    std::fs::copy(db, &to).unwrap();
    let wal = with_suffix(db, "-wal");
    if wal.exists() {
        std::fs::copy(&wal, with_suffix(&to, "-wal")).unwrap();
    }
    let m = ConsentManager::open_with(&to, &common::sample_policy_json(), "fr", f.options())
        .expect("the copy opens");
    assert!(
        m.verify_history().unwrap().intact,
        "the chain on disk is intact"
    );
    m.history().unwrap().into_iter().map(|d| d.source).collect()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// A manager on a store in a directory of its own (`<tmp>/store/consent.db`), which a test may remove.
fn in_a_directory_of_its_own() -> (Fixture, PathBuf, PathBuf, std::sync::Arc<ConsentManager>) {
    let f = Fixture::new();
    let dir = f.dir.path().join("store");
    std::fs::create_dir(&dir).unwrap();
    let db = dir.join("consent.db");
    let m =
        ConsentManager::open_with(&db, &common::sample_policy_json(), "fr", f.options()).unwrap();
    (f, dir, db, m)
}

/// A checkpoint from another connection, as SQLite runs one every 1000 pages: what the WAL held is
/// in the database file now.
fn checkpoint(db: &Path) {
    let other = rusqlite::Connection::open(db).unwrap();
    other
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

fn is_storage(result: &Result<kmer_consent::ConsentSnapshot, KmerConsentError>) -> bool {
    matches!(result, Err(KmerConsentError::Storage { .. }))
}

/// On `main` the seven decisions after the deletion went into the deleted files, and so did the
/// one before it: a kill then left nothing on disk. Now every decision that returned is at the path.
#[test]
fn wal_and_shm_deleted_under_an_open_store_lose_no_confirmed_decision() {
    let f = Fixture::new();
    let db = f.db();
    let m = f.open();
    m.accept_all().expect("the first decision is recorded");
    std::fs::remove_file(with_suffix(&db, "-wal")).unwrap();
    std::fs::remove_file(with_suffix(&db, "-shm")).unwrap();

    let mut confirmed = vec![DecisionSource::AcceptAll];
    for i in 0..7 {
        let (result, source) = if i % 2 == 0 {
            (m.reject_all(), DecisionSource::RejectAll)
        } else {
            (m.accept_all(), DecisionSource::AcceptAll)
        };
        match result {
            Ok(snapshot) if !snapshot.status.not_yet_saved => confirmed.push(source),
            Ok(_) => {}
            Err(e) => assert!(is_storage(&Err(e.clone())), "a typed storage error: {e:?}"),
        }
    }
    // The process is killed here: nothing closes the connection.
    let stored = on_disk(&f, &db);
    assert_eq!(
        stored, confirmed,
        "every confirmed decision is on disk, in order"
    );
    assert!(confirmed.len() >= 7, "the store recovered: {confirmed:?}");
    std::mem::forget(m);
}

/// On `main` the replaced file made every later read fail ("database disk image is malformed")
/// while writes still returned, into the file that was no longer at the path.
#[test]
fn the_database_replaced_after_a_checkpoint_fails_the_call_and_is_reopened() {
    let f = Fixture::new();
    let db = f.db();
    let m = f.open();
    m.reject_all().unwrap();
    checkpoint(&db);
    // Another store, whose user accepted everything, put in place of ours (a backup restore, a
    // second install, a bug in the host app).
    let elsewhere = Fixture::new();
    let theirs = elsewhere.open();
    theirs.accept_all().unwrap();
    theirs.shutdown();
    drop(theirs);
    std::fs::rename(elsewhere.db(), &db).unwrap();

    // A grant: it fails, since the file it would go into is not at the path.
    let first = m.accept_all();
    assert!(is_storage(&first), "the call fails: {first:?}");
    assert!(
        !m.can_start(ADS.into()),
        "neither the failed grant nor the other store's accept_all grants anything here"
    );
    assert!(m.status().store_recovered);
    assert!(
        m.history().is_ok(),
        "reads work again: the store was reopened"
    );
    let again = m
        .reject_all()
        .expect("a refusal is recorded in the file now at the path");
    assert!(!again.status.not_yet_saved);
    assert!(m.verify_history().unwrap().intact);
    assert!(!m.can_start(ADS.into()));
    assert_eq!(
        on_disk(&f, &db).last(),
        Some(&DecisionSource::RejectAll),
        "the confirmed decision is in the file now at the path"
    );
    let granted = m
        .accept_all()
        .expect("a new choice of this user is recorded");
    assert!(granted.status.categories.values().all(|on| *on));
    assert_eq!(on_disk(&f, &db).last(), Some(&DecisionSource::AcceptAll));
}

/// On `main` decisions were confirmed into deleted files, with no error.
#[test]
fn the_store_directory_removed_fails_grants_and_recovers_when_it_is_back() {
    let (f, dir, db, m) = in_a_directory_of_its_own();
    m.accept_all().unwrap();
    assert!(m.can_start(ADS.into()));
    std::fs::remove_dir_all(&dir).unwrap();

    let grant = m.accept_all();
    assert!(
        is_storage(&grant),
        "a grant into a removed store fails: {grant:?}"
    );
    assert!(
        !m.can_start(ADS.into()),
        "the record behind the consent is gone: the gate closes until the user is asked again"
    );
    let refusal = m.reject_all().expect("a refusal is never refused");
    assert!(refusal.status.not_yet_saved, "it holds in memory");
    assert!(!db.exists(), "nothing is created in place of the directory");

    std::fs::create_dir(&dir).unwrap();
    let snapshot = m.refresh().expect("the store is reopened at the path");
    assert!(!snapshot.status.not_yet_saved, "the refusal is written now");
    assert!(!m.can_start(ADS.into()));
    assert_eq!(on_disk(&f, &db), vec![DecisionSource::RejectAll]);
}

/// A check before writing is not enough: the files can go between it and the commit. After the
/// commit the store looks again, so a decision is only confirmed if its files are still the ones
/// at the path. Here another thread deletes the `-wal` and `-shm` twenty times during a run of
/// decisions; every confirmed one must be on disk afterwards, in order.
#[test]
fn files_removed_while_decisions_are_being_recorded_never_confirm_a_lost_decision() {
    let (f, _, db, m) = in_a_directory_of_its_own();
    let remover = {
        let (wal, shm) = (with_suffix(&db, "-wal"), with_suffix(&db, "-shm"));
        std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(std::time::Duration::from_millis(7));
                let _ = std::fs::remove_file(&wal);
                let _ = std::fs::remove_file(&shm);
            }
        })
    };
    let mut confirmed = Vec::new();
    let mut unconfirmed = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(250) {
        let (result, source) = if confirmed.len() % 2 == 0 {
            (m.reject_all(), DecisionSource::RejectAll)
        } else {
            (m.accept_all(), DecisionSource::AcceptAll)
        };
        match result {
            Ok(snapshot) if !snapshot.status.not_yet_saved => confirmed.push(source),
            _ => unconfirmed += 1,
        }
    }
    remover.join().unwrap();
    // The last deletion may come after the last decision: the next look (the platforms' watch
    // calls this every second) finds it and keeps what the deleted WAL held.
    m.refresh_if_changed().unwrap();
    let stored = on_disk(&f, &db);
    let mut rest = stored.iter();
    for c in &confirmed {
        assert!(
            rest.any(|s| s == c),
            "confirmed {confirmed:?}, on disk {stored:?}"
        );
    }
    assert!(
        stored.len() <= confirmed.len() + unconfirmed,
        "nothing is there that was not confirmed or in flight: {} confirmed, {unconfirmed} not, \
         {} stored",
        confirmed.len(),
        stored.len()
    );
    std::mem::forget(m);
}

/// Review of issue 16: an older copy of the same store put back at the path (a backup restore)
/// has the same latest decision but not the mark that says it expired. The reopened file's lower
/// mark let the expired acceptance grant again once the clock was set back.
#[test]
fn a_restored_older_copy_does_not_bring_an_expired_grant_back() {
    let f = Fixture::new();
    let db = f.db();
    let m = f.open();
    m.accept_all().unwrap();
    let backup = f.dir.path().join("backup.db");
    checkpoint(&db);
    std::fs::copy(&db, &backup).unwrap();
    f.clock.advance_days(391);
    assert!(!m.can_start(ADS.into()), "expired");
    m.refresh().unwrap();
    std::fs::rename(&backup, &db).unwrap();
    f.clock.set(common::T0 + 86_400_000);
    let _ = m.refresh_if_changed();
    assert!(
        !m.can_start(ADS.into()),
        "the clock set back after a restore does not renew the acceptance"
    );
}
