//! Power loss, not just process death (issue 16). A `SIGKILL` leaves the kernel's page cache
//! intact; a power cut loses whatever was written but not synced, in any order, and may tear the
//! last write. So a run of decisions is recorded through a VFS that logs every write and sync of the
//! store's files (`power_loss/vfs.rs`), and the disk is then rebuilt as a power cut would leave it at
//! each sync point and each return of a call: what was synced, plus none, all or a seeded random
//! subset of what was not, with one write torn (a prefix of its 512-byte sectors kept, the rest old
//! bytes or garbage). Each of these crash states is opened as the next launch would open it, and
//! checked:
//!
//! - every decision whose call returned is there, in order, with its choices;
//! - nothing is there that was not confirmed or in flight;
//! - the chain verifies, the store was not recreated, and the gate answers what the last decision
//!   says.
//!
//! The same for an upgrade: a crash anywhere in the migration from schema version 2 leaves version
//! 2 intact or version 3 complete, never a mix, and the next open completes it.
//!
//! CI checks a bounded run (printed: "N crash states"); `KMER_POWER_LOSS_DECISIONS=…` records a
//! longer run (more checkpoints, more states) and `KMER_POWER_LOSS_SEED=…` changes the subsets.

mod common;
#[path = "power_loss/vfs.rs"]
mod vfs;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use common::Fixture;
use kmer_consent::{Category, ConsentManager, DecisionSource};
use vfs::Op;

/// The default seed of the cuts' random subsets.
const SEED: u64 = 16;

/// A small seeded generator (xorshift): the same seed gives the same crash states.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A directory on tmpfs when there is one: thousands of crash states are written and opened.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

/// One call of the run: what it asks for.
#[derive(Debug, Clone, Copy)]
struct Call {
    source: DecisionSource,
    statistics: bool,
    personalization: bool,
    marketing: bool,
}

fn call(i: usize) -> Call {
    let (source, s, p, m) = match i % 5 {
        0 => (DecisionSource::AcceptAll, true, true, true),
        1 => (DecisionSource::RejectAll, false, false, false),
        2 => (DecisionSource::Save, true, false, false),
        3 => (DecisionSource::Save, false, true, true),
        _ => (DecisionSource::Withdraw, false, false, false),
    };
    Call {
        source,
        statistics: s,
        personalization: p,
        marketing: m,
    }
}

fn make(m: &ConsentManager, c: Call) {
    let result = match c.source {
        DecisionSource::AcceptAll => m.accept_all(),
        DecisionSource::RejectAll => m.reject_all(),
        DecisionSource::Withdraw => m.withdraw(),
        _ => m.save(HashMap::from([
            (Category::Statistics, c.statistics),
            (Category::Personalization, c.personalization),
            (Category::Marketing, c.marketing),
        ])),
    };
    let snapshot = result.expect("the decision is recorded");
    assert!(!snapshot.status.not_yet_saved);
}

/// One file as the disk holds it: what was synced, and what was written since.
#[derive(Default, Clone)]
struct FileState {
    /// `None`: not on the disk (never synced since it was created, or deleted).
    synced: Option<Vec<u8>>,
    unsynced: Vec<Change>,
}

#[derive(Clone)]
enum Change {
    Write(u64, Vec<u8>),
    Truncate(u64),
}

fn apply(bytes: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Write(offset, data) => {
            let (start, end) = (*offset as usize, *offset as usize + data.len());
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[start..end].copy_from_slice(data);
        }
        Change::Truncate(size) => bytes.resize(*size as usize, 0),
    }
}

/// How a power cut treats the writes not yet synced.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// All lost.
    LoseAll,
    /// All reached the disk (what a process kill leaves).
    KeepAll,
    /// A random subset reached it, in any order.
    Some,
    /// A random subset, and one of them torn: a prefix of its sectors written, the rest of it old
    /// bytes, or garbage.
    Torn { garbage: bool },
}

/// The disk as the log has built it so far.
#[derive(Default, Clone)]
struct Disk {
    files: BTreeMap<String, FileState>,
}

impl Disk {
    fn from_dir(dir: &Path) -> Disk {
        let mut disk = Disk::default();
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap();
            disk.files.entry(name).or_default().synced = Some(bytes);
        }
        disk
    }

    fn step(&mut self, op: &Op) {
        match op {
            Op::Write { file, offset, data } => self
                .files
                .entry(file.clone())
                .or_default()
                .unsynced
                .push(Change::Write(*offset, data.clone())),
            Op::Truncate { file, size } => self
                .files
                .entry(file.clone())
                .or_default()
                .unsynced
                .push(Change::Truncate(*size)),
            Op::Sync { file } => {
                let state = self.files.entry(file.clone()).or_default();
                let mut bytes = state.synced.take().unwrap_or_default();
                for change in state.unsynced.drain(..) {
                    apply(&mut bytes, &change);
                }
                state.synced = Some(bytes);
            }
            // The deletions SQLite makes (a WAL at close, a rollback journal at commit) follow a
            // sync of everything they protect; taken as durable at once.
            Op::Delete { file } => {
                self.files.remove(file);
            }
            Op::Mark { .. } => {}
        }
    }

    /// Writes the disk as `cut` leaves it into `dir`.
    fn write_cut(&self, dir: &Path, cut: Cut, rng: &mut Rng) {
        for (name, state) in &self.files {
            let kept: Vec<&Change> = state
                .unsynced
                .iter()
                .filter(|_| match cut {
                    Cut::LoseAll => false,
                    Cut::KeepAll => true,
                    Cut::Some | Cut::Torn { .. } => rng.below(2) == 0,
                })
                .collect();
            if state.synced.is_none() && kept.is_empty() {
                continue;
            }
            let mut bytes = state.synced.clone().unwrap_or_default();
            let torn = match cut {
                Cut::Torn { .. } if !kept.is_empty() => Some(rng.below(kept.len() as u64) as usize),
                _ => None,
            };
            for (i, change) in kept.iter().enumerate() {
                match (change, torn == Some(i), cut) {
                    (Change::Write(offset, data), true, Cut::Torn { garbage }) => {
                        let sectors = data.len().div_ceil(512) as u64;
                        let written = (rng.below(sectors) as usize * 512).min(data.len());
                        apply(
                            &mut bytes,
                            &Change::Write(*offset, data[..written].to_vec()),
                        );
                        if garbage {
                            let rest: Vec<u8> =
                                (written..data.len()).map(|_| rng.next() as u8).collect();
                            apply(&mut bytes, &Change::Write(*offset + written as u64, rest));
                        }
                    }
                    _ => apply(&mut bytes, change),
                }
            }
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// The cuts tried at each crash point.
const CUTS: [Cut; 5] = [
    Cut::LoseAll,
    Cut::KeepAll,
    Cut::Some,
    Cut::Torn { garbage: false },
    Cut::Torn { garbage: true },
];

/// Replays `log` over `base`, and at every sync and every mark (and at the end) writes each cut
/// into a fresh directory and hands it to `check` with the calls returned and begun by then.
/// Returns how many crash states were checked.
fn each_crash_state(
    base: &Disk,
    log: &[Op],
    seed: u64,
    mut check: impl FnMut(&Path, usize, usize, Cut),
) -> usize {
    let mut disk = base.clone();
    let (mut returned, mut begun) = (0, 0);
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut states = 0;
    let mut crash = |disk: &Disk, returned: usize, begun: usize| {
        for cut in CUTS {
            let dir = scratch();
            disk.write_cut(dir.path(), cut, &mut rng);
            check(dir.path(), returned, begun, cut);
            states += 1;
        }
    };
    for op in log {
        match op {
            // Just before each sync: what it would make durable is not yet.
            Op::Sync { .. } => crash(&disk, returned, begun),
            // Just after a call returned (nothing happens between that and the next call).
            Op::Mark {
                call,
                returned: true,
            } => {
                returned = call + 1;
                crash(&disk, returned, begun);
            }
            Op::Mark { call, .. } => begun = call + 1,
            _ => {}
        }
        disk.step(op);
    }
    crash(&disk, returned, begun);
    states
}

fn canonical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap()
}

#[test]
fn every_confirmed_decision_survives_a_power_cut_at_any_point() {
    // 200: the WAL reaches SQLite's 1000 pages, and is checkpointed and started over, after about
    // 190 decisions.
    let decisions = env_number("KMER_POWER_LOSS_DECISIONS", 200).max(20) as usize;
    let seed = env_number("KMER_POWER_LOSS_SEED", SEED);
    let f = Fixture::new();
    let dir = canonical(f.dir.path());
    let db = dir.join("consent.db");

    // The run: open a new store, decide, close (SQLite checkpoints and deletes the WAL), reopen
    // and decide ten times more.
    vfs::start(&dir);
    let calls: Vec<Call> = (0..decisions).map(call).collect();
    let first = decisions - 10;
    for (start, end) in [(0, first), (first, decisions)] {
        let m = ConsentManager::open_with(&db, &common::sample_policy_json(), "fr", f.options())
            .expect("open the store");
        if start == 0 {
            let id = std::fs::read(dir.join("consent.db.id")).expect("the first open writes .id");
            vfs::written_durably(&dir, "consent.db.id", id);
        }
        for (i, c) in calls.iter().enumerate().take(end).skip(start) {
            vfs::mark(&dir, i, false);
            make(&m, *c);
            vfs::mark(&dir, i, true);
        }
        m.shutdown();
        drop(m);
    }
    let log = vfs::stop(&dir);
    let syncs = log
        .iter()
        .filter(|op| matches!(op, Op::Sync { .. }))
        .count();
    // Checkpoints: syncs of the database file itself (SQLite copies the WAL into it, then starts
    // the WAL over), when the WAL reaches 1000 pages and when the last connection closes.
    let checkpoints = log
        .iter()
        .filter(|op| matches!(op, Op::Sync { file } if file == "consent.db"))
        .count();

    let started = std::time::Instant::now();
    let states = each_crash_state(
        &Disk::default(),
        &log,
        seed,
        |image, returned, begun, cut| {
            let context = format!("{returned} returned, {begun} begun, {cut:?}");
            let m = ConsentManager::open_with(
                &image.join("consent.db"),
                &common::sample_policy_json(),
                "fr",
                f.options(),
            )
            .unwrap_or_else(|e| panic!("the store opens after a power cut ({context}): {e}"));
            let history = m.history().unwrap();
            assert!(
                (returned..=begun).contains(&history.len()),
                "{} decisions after the cut, {context}",
                history.len()
            );
            for (d, c) in history.iter().zip(&calls) {
                assert_eq!(
                    (
                        d.source,
                        d.categories[&Category::Statistics],
                        d.categories[&Category::Personalization],
                        d.categories[&Category::Marketing]
                    ),
                    (c.source, c.statistics, c.personalization, c.marketing),
                    "decision {} as it was made ({context})",
                    d.id
                );
            }
            let check = m.verify_history().unwrap();
            assert!(check.intact, "the chain verifies ({context}): {check:?}");
            if returned > 0 {
                assert!(!m.status().store_recovered, "not recreated ({context})");
            }
            let marketing = history
                .last()
                .is_some_and(|d| d.categories[&Category::Marketing]);
            assert_eq!(
                m.status().categories[&Category::Marketing],
                marketing,
                "the gate answers the last decision ({context})"
            );
            m.shutdown();
        },
    );
    println!(
        "power loss: {decisions} decisions, {} operations logged ({syncs} syncs, {checkpoints} \
         checkpoints), {states} crash states checked in {:.1} s",
        log.len(),
        started.elapsed().as_secs_f64()
    );
    // Each state is counted as it is made, so their number says nothing by itself; what the run
    // must show is that every commit was synced before its call returned.
    let wal_syncs = log
        .iter()
        .filter(|op| matches!(op, Op::Sync { file } if file == "consent.db-wal"))
        .count();
    assert!(
        wal_syncs >= decisions,
        "{wal_syncs} syncs of the WAL for {decisions} decisions"
    );
    if decisions >= 200 {
        assert!(
            checkpoints >= 2,
            "a checkpoint within the run, and one at close"
        );
    }
}

#[test]
fn a_power_cut_during_the_upgrade_leaves_the_old_schema_or_the_new_one() {
    let seed = env_number("KMER_POWER_LOSS_SEED", SEED);
    let f = Fixture::new();
    let dir = canonical(f.dir.path());
    let db = dir.join("consent.db");
    {
        let old = rusqlite::Connection::open(&db).unwrap();
        old.execute_batch(include_str!("fixtures/schema-v2.sql"))
            .unwrap();
    }
    let base = Disk::from_dir(&dir);
    let tables = |conn: &rusqlite::Connection| -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        let names = stmt.query_map([], |r| r.get(0)).unwrap();
        names.collect::<rusqlite::Result<_>>().unwrap()
    };
    let old_tables = tables(&rusqlite::Connection::open(&db).unwrap());

    vfs::start(&dir);
    vfs::mark(&dir, 0, false);
    let m = ConsentManager::open_with(&db, &common::sample_policy_json(), "fr", f.options())
        .expect("the upgrade");
    vfs::mark(&dir, 0, true);
    m.shutdown();
    drop(m);
    let log = vfs::stop(&dir);
    let new_tables = tables(&rusqlite::Connection::open(&db).unwrap());
    assert_ne!(old_tables, new_tables, "version 3 adds tables");

    let mut old_seen = 0;
    let states = each_crash_state(&base, &log, seed, |image, returned, _, cut| {
        let context = format!("upgrade returned: {}, {cut:?}", returned > 0);
        let path = image.join("consent.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("readable ({context}): {e}"));
            let found = tables(&conn);
            match version {
                2 => {
                    assert!(
                        returned == 0,
                        "the upgrade returned, yet version 2 ({context})"
                    );
                    assert_eq!(found, old_tables, "version 2 intact ({context})");
                    old_seen += 1;
                }
                3 => assert_eq!(found, new_tables, "version 3 complete ({context})"),
                v => panic!("version {v} ({context})"),
            }
            let count: i64 = conn
                .query_row("SELECT count(*) FROM decisions", [], |r| r.get(0))
                .unwrap();
            assert_eq!(count, 2, "both decisions are there ({context})");
        }
        let m = ConsentManager::open_with(&path, &common::sample_policy_json(), "fr", f.options())
            .unwrap_or_else(|e| panic!("the next open completes the upgrade ({context}): {e}"));
        assert!(!m.status().store_recovered, "not recreated ({context})");
        assert!(m.verify_history().unwrap().intact, "({context})");
        m.shutdown();
    });
    println!("power loss during the upgrade: {} operations, {states} crash states ({old_seen} still version 2)", log.len());
    assert!(old_seen > 0, "some cuts come before the upgrade commits");
}
