//! Hostile database files: random bytes over data pages, truncation, an empty file, a WAL from
//! another database. Each ends in a usable store (as found, or recovered) or a typed error; never a
//! panic, and the gate never allows what the file does not prove.

mod common;

use std::path::Path;

use common::Fixture;
use kmer_consent::{Category, ConsentManager};

/// A store with some history, closed (its WAL checkpointed into the file).
fn store_with_history(f: &Fixture) -> Vec<u8> {
    let m = f.open();
    for i in 0..60 {
        f.clock.advance_ms(1000);
        let on = i % 2 == 0;
        m.save([(Category::Statistics, on), (Category::Marketing, on)].into())
            .unwrap();
    }
    drop(m);
    std::fs::read(f.db()).unwrap()
}

/// Opens whatever is at the path and exercises every reader; returns whether it opened.
fn survive(f: &Fixture) -> bool {
    match ConsentManager::open_with(&f.db(), &common::sample_policy_json(), "fr", f.options()) {
        Ok(m) => {
            let _ = m.status();
            let _ = m.history();
            let _ = m.verify_history();
            let _ = m.export_proof().unwrap();
            let _ = m.pending_receipts(10);
            let _ = m.accept_all();
            let _ = m.can_start("google_mobile_ads".into());
            true
        }
        Err(e) => {
            let message = kmer_consent::KmerConsentError::from(e).to_string();
            assert!(message.contains("storage"), "{message}");
            false
        }
    }
}

fn clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn random_bytes_over_data_pages_never_crash_and_never_grant_unproven_consent() {
    let f = Fixture::new();
    let pristine = store_with_history(&f);
    let mut seed = 0x0bad_5eed_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut opened, mut refused, mut flagged) = (0, 0, 0);
    for _ in 0..60 {
        clean(f.dir.path());
        let mut bytes = pristine.clone();
        // Past the 100-byte header: 1 to 64 random bytes at random places in the data pages.
        for _ in 0..(1 + next() % 64) {
            let at = 100 + (next() as usize) % (bytes.len() - 100);
            bytes[at] = next() as u8;
        }
        std::fs::write(f.db(), &bytes).unwrap();
        let m =
            ConsentManager::open_with(&f.db(), &common::sample_policy_json(), "fr", f.options());
        match m {
            Ok(m) => {
                opened += 1;
                let check = m.verify_history();
                if !matches!(check, Ok(ref c) if c.intact) {
                    flagged += 1;
                }
                // The last decision refused statistics and marketing: whatever the damage, the
                // gate may not grant them (a grant needs that decision, readable and intact).
                assert!(
                    !m.can_start("firebase_analytics".into()),
                    "a damaged file granted statistics"
                );
                assert!(
                    !m.can_start("google_mobile_ads".into()),
                    "a damaged file granted marketing"
                );
                let _ = m.history();
                let _ = m.accept_all();
            }
            Err(_) => refused += 1,
        }
    }
    println!("60 corrupted files: {opened} opened ({flagged} with the damage reported by verify), {refused} refused with a typed error");
}

#[test]
fn truncated_and_empty_files_are_handled() {
    let f = Fixture::new();
    let pristine = store_with_history(&f);
    for len in [0, 1, 99, 100, 4096, pristine.len() / 2, pristine.len() - 1] {
        clean(f.dir.path());
        std::fs::write(f.db(), &pristine[..len]).unwrap();
        survive(&f);
    }
    // An empty file is an empty database: a fresh store, nothing recovered.
    clean(f.dir.path());
    std::fs::write(f.db(), b"").unwrap();
    let m = f.open();
    assert!(!m.status().store_recovered);
    assert!(m.history().unwrap().is_empty());
}

/// The live WAL of another store holding one `accept_all`, copied while its connection is open.
fn foreign_wal_with_accept_all() -> Vec<u8> {
    let other = Fixture::new();
    let m = other.open();
    m.accept_all().unwrap();
    std::fs::read(other.dir.path().join("consent.db-wal")).unwrap()
}

/// SQLite does not tie a WAL file to its database: a WAL copied from another store of the same
/// schema would be replayed as ours. The store's id, kept in `<db>.id` as well, tells them apart:
/// the foreign WAL is moved aside unapplied and the status says the store was recovered.
#[test]
fn a_wal_file_from_another_database_is_moved_aside_unapplied() {
    let f = Fixture::new();
    let foreign_wal = foreign_wal_with_accept_all();

    let ours = f.open();
    ours.reject_all().unwrap();
    drop(ours);
    std::fs::write(f.dir.path().join("consent.db-wal"), &foreign_wal).unwrap();
    let m = ConsentManager::open_with(&f.db(), &common::sample_policy_json(), "fr", f.options())
        .expect("opens");
    assert!(m.status().store_recovered);
    let history = m.history().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].source,
        kmer_consent::DecisionSource::RejectAll,
        "our own decision"
    );
    assert!(!m.can_start("google_mobile_ads".into()));
    assert!(m.verify_history().unwrap().intact);
    let aside: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-wal.foreign-"))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the foreign WAL is kept aside for inspection"
    );
    drop(m);
    // The next open is a normal one.
    assert!(!f.open().status().store_recovered);
}

#[test]
fn a_wal_left_by_a_crash_of_this_store_is_replayed() {
    let f = Fixture::new();
    let m = f.open();
    m.reject_all().unwrap();
    m.accept_all().unwrap();
    // Copy the live files, as if the process had been killed now.
    let crashed = f.dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    for name in ["consent.db", "consent.db-wal", "consent.db.id"] {
        std::fs::copy(f.dir.path().join(name), crashed.join(name)).unwrap();
    }
    drop(m);
    let copy = ConsentManager::open_with(
        &crashed.join("consent.db"),
        &common::sample_policy_json(),
        "fr",
        f.options(),
    )
    .unwrap();
    assert!(!copy.status().store_recovered);
    assert_eq!(
        copy.history().unwrap().len(),
        2,
        "the commits in the WAL are kept"
    );
    assert!(copy.can_start("google_mobile_ads".into()));
}

/// A symlink at the path the app named: SQLite opens the target and keeps its `-wal` beside the
/// target, so the identity check must look there too. A foreign WAL beside the target was replayed
/// when the check looked beside the link (issue 16: its `accept_all` adopted).
#[cfg(unix)]
#[test]
fn through_a_symlinked_path_a_foreign_wal_beside_the_target_is_moved_aside() {
    let f = Fixture::new();
    let foreign_wal = foreign_wal_with_accept_all();

    let real = f.dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("consent.db");
    let link = f.dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let open =
        || ConsentManager::open_with(&link, &common::sample_policy_json(), "fr", f.options());
    let ours = open().unwrap();
    ours.reject_all().unwrap();
    drop(ours);
    std::fs::write(real.join("consent.db-wal"), &foreign_wal).unwrap();

    let m = open().expect("opens");
    assert!(
        !m.can_start("google_mobile_ads".into()),
        "the foreign accept_all grants nothing"
    );
    let history = m.history().unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].source, kmer_consent::DecisionSource::RejectAll);
    assert!(m.status().store_recovered);
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "the link is left as it was"
    );
}

/// Corruption recovery through a symlink moves the damaged file aside, not the link: the link keeps
/// naming the store, and the damaged bytes are kept beside the file they were.
#[cfg(unix)]
#[test]
fn through_a_symlinked_path_recovery_moves_the_damaged_file_not_the_link() {
    let f = Fixture::new();
    let real = f.dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("consent.db");
    std::fs::write(&target, vec![0x42u8; 8192]).unwrap();
    let link = f.dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let m = ConsentManager::open_with(&link, &common::sample_policy_json(), "fr", f.options())
        .expect("recovers");
    assert!(m.status().store_recovered);
    m.accept_all().unwrap();
    drop(m);
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "the link is left as it was"
    );
    let aside: Vec<String> = std::fs::read_dir(&real)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".corrupt-"))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the damaged file is kept beside itself: {aside:?}"
    );
    let reopened =
        ConsentManager::open_with(&target, &common::sample_policy_json(), "fr", f.options())
            .unwrap();
    assert_eq!(
        reopened.history().unwrap().len(),
        1,
        "the decision went into the file the link names"
    );
}
