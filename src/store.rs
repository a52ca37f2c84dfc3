//! The consent store: one SQLite file, opened in WAL mode with one writer connection. Each decision is
//! one transaction, synced to disk before the call returns. A file that is not a database, or is
//! corrupt, is moved aside once and a fresh store opened. The store knows nothing of the rules.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};

use crate::category::Grants;
use crate::error::{Error, Result};
use crate::policy::MAX_POLICY_BYTES;
use crate::proof;
use crate::proof::{decode_lower_hex, hex};
use crate::random;
use crate::record::{Decision, DecisionSource, TimeMarks};
use crate::schema::{self, AppendOnly};
use crate::tracking::TrackingAuthorization;
use crate::witness::Witness;

/// How long a write waits for another connection (another process) to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest row, string or blob SQLite reads or writes on our connections: a policy text at its
/// largest fits four times over; a damaged or hostile file with a larger one is refused (and moved
/// aside) instead of being read into memory.
const MAX_VALUE_BYTES: i32 = 4 * 1024 * 1024;
/// Written by schema versions 1 and 2: the latest time acted on. Read once to set the time marks.
const LEGACY_CLOCK_MARK_KEY: &str = "clock_mark_ms";
const LEGACY_CLOCK_MARK_THROUGH_KEY: &str = "clock_mark_through_id";
const STORE_ID_KEY: &str = "store_id";
const CLOSED_PAGES_KEY: &str = "pages_closed";
const DECISION_COLUMNS: &str = "id, decided_at_ms, policy_id, policy_revision, source, locale, \
     statistics, personalization, marketing, sdks_shown, policy_hash, sdk_version, app_version, \
     prev_hash, record_hash, tracking_authorization, subject, origin_hash";

/// An open consent database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What opening found.
pub struct Opened {
    pub store: Store,
    /// The most recent decision of the anonymous device, if any.
    pub latest: Option<Decision>,
    /// What moving the clock back must not undo.
    pub marks: TimeMarks,
    /// The time mark older schemas kept, and the newest decision id it speaks of (those there were
    /// at the upgrade to version 3): the manager turns it into marks for those decisions only.
    pub legacy_clock_mark: Option<(i64, i64)>,
    /// Where the unreadable file was moved, when the store had to be recreated.
    pub recovered_from: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`. A corrupt file or one that is not a
    /// database is moved to `<path>.corrupt-<unix-seconds>` (with its `-wal` and `-shm`) and a fresh
    /// database is created, once. `now_ms` names the moved file.
    pub fn open(path: &Path, now_ms: i64, max_pages: Option<u32>) -> Result<Opened> {
        let had_wal = std::fs::metadata(sibling(path, "-wal")).is_ok_and(|m| m.len() > 0);
        let mut opened = match Self::open_retrying(path, max_pages) {
            Ok(opened) => opened,
            Err(error) if is_corruption(&error) => {
                let aside = move_aside(path, now_ms)?;
                let mut opened = Self::open_retrying(path, max_pages)?;
                opened.recovered_from = Some(aside);
                opened
            }
            Err(error) => return Err(error),
        };
        // SQLite replays any WAL file beside the database, even one copied from another store. A
        // WAL left by a crash of this store carries this store's id; another store's does not.
        if had_wal && opened.recovered_from.is_none() {
            let expected = read_identity_file(path);
            if expected.is_some() && opened.store.store_id()? != expected {
                // Close without checkpointing, so the foreign pages never reach the file.
                let _ = opened
                    .store
                    .conn
                    .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
                drop(opened);
                let aside = move_wal_aside(path, now_ms)?;
                opened = Self::open_retrying(path, max_pages)?;
                opened.recovered_from = Some(aside);
            }
        }
        opened.store.ensure_identity(path)?;
        Ok(opened)
    }

    /// Opens an existing database for reading only (no migration, nothing written): for checks
    /// from a terminal. Schema version 2 or later.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::open(path, e))?;
        conn.set_limit(
            rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
            MAX_VALUE_BYTES,
        )
        .map_err(|e| Error::open(path, e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| Error::open(path, e))?;
        if !(2..=schema::VERSION).contains(&version) {
            return Err(Error::SchemaUnknown(version));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// How many consent pages were closed without a decision.
    pub fn closed_pages(&self) -> Result<i64> {
        Ok(self.meta(CLOSED_PAGES_KEY)?.unwrap_or(0))
    }

    /// Counts one more consent page closed without a decision.
    pub fn close_page(&mut self) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, 1) \
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            [CLOSED_PAGES_KEY],
        )?;
        Ok(())
    }

    /// A storage error about this file.
    pub fn io_error(&self, what: &str) -> Error {
        Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other(what.to_owned()),
        }
    }

    /// A value of `meta`, if it is there.
    fn meta(&self, key: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a value of `meta` unless another writer got there first.
    fn meta_insert_if_absent(conn: &Connection, key: &str, value: i64) -> Result<()> {
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }

    /// This store's random id (in `meta`), if it has one yet.
    fn store_id(&self) -> Result<Option<i64>> {
        self.meta(STORE_ID_KEY)
    }

    /// The secret that signs this store's consent-page tokens: 32 random bytes kept in `meta` as four
    /// integers (`ui_key.0` to `ui_key.3`), created on first use; two processes creating it at once
    /// agree on one.
    pub(crate) fn ui_key(&mut self) -> Result<[u8; 32]> {
        if let Some(key) = self.read_ui_key()? {
            return Ok(key);
        }
        let fresh = random::bytes::<32>()?;
        let tx = self.conn.transaction()?;
        for (i, chunk) in fresh.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            Store::meta_insert_if_absent(&tx, &format!("ui_key.{i}"), i64::from_le_bytes(word))?;
        }
        tx.commit()?;
        self.read_ui_key()?
            .ok_or_else(|| self.io_error("the page key was not stored"))
    }

    fn read_ui_key(&self) -> Result<Option<[u8; 32]>> {
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_exact_mut(8).enumerate() {
            match self.meta(&format!("ui_key.{i}"))? {
                Some(word) => chunk.copy_from_slice(&word.to_le_bytes()),
                None => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// Gives the store a random id if it has none, and keeps a copy in `<path>.id`, outside the
    /// pages a WAL file can replace. Failing to write the copy only loses that check.
    fn ensure_identity(&mut self, path: &Path) -> Result<()> {
        let id = match self.store_id()? {
            Some(id) => id,
            None => {
                let id = i64::from_le_bytes(random::bytes::<8>()?);
                Store::meta_insert_if_absent(&self.conn, STORE_ID_KEY, id)?;
                self.store_id()?.unwrap_or(id)
            }
        };
        if read_identity_file(path) != Some(id) {
            let _ = std::fs::write(sibling(path, ".id"), id.to_string());
        }
        Ok(())
    }

    /// Another process opening the same new file at the same moment holds the lock that switching
    /// to WAL needs, and SQLite does not wait for that one: retry within the busy timeout.
    fn open_retrying(path: &Path, max_pages: Option<u32>) -> Result<Opened> {
        let started = std::time::Instant::now();
        loop {
            match Self::open_once(path, max_pages) {
                Err(error) if is_busy(&error) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => return result,
            }
        }
    }

    fn open_once(path: &Path, max_pages: Option<u32>) -> Result<Opened> {
        if path.is_dir() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("is a directory, not a database file"),
            });
        }
        let in_path = |e| Error::open(path, e);
        let mut conn = Connection::open(path).map_err(in_path)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(in_path)?;
        conn.set_limit(
            rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
            MAX_VALUE_BYTES,
        )
        .map_err(in_path)?;
        // Reading the journal mode is the first read of the file: a non-database fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(in_path)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!(
                    "cannot enable WAL (journal mode is {mode})"
                )),
            });
        }
        // FULL: in WAL mode, NORMAL may lose the last commits on power loss; a confirmed choice must not.
        if let Some(pages) = max_pages {
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(in_path)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(in_path)?;
        migrate(&mut conn, path)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let latest = store.latest_decision("")?;
        let marks = store.marks("")?;
        let legacy_clock_mark = match store.meta(LEGACY_CLOCK_MARK_KEY)? {
            Some(mark) => Some((
                mark,
                store.meta(LEGACY_CLOCK_MARK_THROUGH_KEY)?.unwrap_or(0),
            )),
            None => None,
        };
        Ok(Opened {
            store,
            latest,
            marks,
            legacy_clock_mark,
            recovered_from: None,
        })
    }

    /// Appends a decision in one transaction, durable when this returns: the policy it was made
    /// under (stored once by hash), the record with its place in the hash chain, the chain head, the
    /// outbox entry (for decisions the back end should hear of) and, for an import, the witness it
    /// came with. Returns it with its id and hashes.
    pub fn record(
        &mut self,
        mut decision: Decision,
        policy: Option<PolicyRow<'_>>,
        witness: Option<&Witness>,
    ) -> Result<Decision> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(p) = policy {
            tx.execute(
                "INSERT OR IGNORE INTO policies (hash, policy_id, revision, canonical_json) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![p.hash, p.policy_id, p.revision, p.canonical_json],
            )?;
        }
        // AUTOINCREMENT ids are never reused: the next one is the sequence plus one.
        decision.id = tx.query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decisions'), 0) + 1",
            [],
            |r| r.get(0),
        )?;
        let (head, length) = chain_head(&tx, &decision.subject)?;
        decision.prev_hash = head;
        decision.record_hash = proof::record_hash(&decision);
        insert(&tx, &decision)?;
        set_chain_head(&tx, &decision.subject, &decision.record_hash, length + 1)?;
        if decision.source.goes_to_back_end() {
            tx.execute(
                "INSERT INTO outbox (decision_id) VALUES (?1)",
                [decision.id],
            )?;
        }
        if let Some(w) = witness {
            insert_witness(&tx, w, decision.id)?;
        }
        tx.commit()?;
        Ok(decision)
    }

    /// Keeps the back end's witness of one of this store's records and takes it out of the outbox,
    /// in one transaction. Returns the record's id, or `None` when no record here has that hash.
    pub fn add_witness(&mut self, witness: &Witness) -> Result<Option<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM decisions WHERE record_hash = ?1 AND source != 'import'",
                [&witness.record_hash],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = id {
            insert_witness(&tx, witness, id)?;
            tx.execute("DELETE FROM outbox WHERE decision_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// The back end's witness of a record (by its witness hash: see [`Decision::witness_hash`]).
    pub fn witness(&self, record_hash: &str) -> Result<Option<Witness>> {
        let row: Option<(String, i64, String)> = self
            .conn
            .query_row(
                "SELECT record_hash, backend_time_ms, signature FROM witnesses WHERE record_hash = ?1",
                [record_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(witness_from_row))
    }

    /// The newest witness of a record of `subject`, with the id of the record it names here. A row
    /// that cannot be read as a witness comes back as one that verifies under no key.
    pub fn newest_witness(&self, subject: &str) -> Result<Option<(i64, Witness)>> {
        let row: Option<(i64, (String, i64, String))> = self
            .conn
            .query_row(
                "SELECT decision_id, record_hash, backend_time_ms, signature FROM witnesses \
                 WHERE subject = ?1 ORDER BY decision_id DESC LIMIT 1",
                [subject],
                |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))),
            )
            .optional()?;
        Ok(row.map(|(id, (hash, at, signature))| {
            let witness = witness_from_row((hash.clone(), at, signature)).unwrap_or(Witness {
                record_hash: hash,
                backend_time_ms: at,
                signature: [0u8; 64],
            });
            (id, witness)
        }))
    }

    /// When the back end witnessed each record that it did, by witness hash.
    pub fn witness_times(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT record_hash, backend_time_ms FROM witnesses")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The canonical JSON of a policy shown, by hash; `None` when it is not here or is larger than a
    /// policy may be (a damaged or hostile file is not read into memory).
    pub fn policy_text(&self, hash: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT canonical_json FROM policies WHERE hash = ?1 AND length(canonical_json) <= ?2",
                params![hash, MAX_POLICY_BYTES as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every policy text stored under `policy_id`, as (hash, canonical JSON), highest revision first.
    pub fn policy_texts(&self, policy_id: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT hash, canonical_json FROM policies WHERE policy_id = ?1 \
             AND length(canonical_json) <= ?2 ORDER BY revision DESC",
        )?;
        let rows = stmt.query_map(params![policy_id, MAX_POLICY_BYTES as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest decision id of any subject (0 before the first) and `subject`'s chain head: what a
    /// consent page is bound to.
    pub fn page_state(&self, subject: &str) -> Result<(i64, String)> {
        let last: i64 = self.conn.query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decisions'), 0)",
            [],
            |r| r.get(0),
        )?;
        let (head, _) = chain_head(&self.conn, subject)?;
        Ok((last, head))
    }

    /// Walks every subject's chain, recomputing every link, then checks every stored witness: that
    /// the record it names is still there unchanged and, when `signed` is given (it knows the back
    /// end's key), its signature.
    pub fn verify(&self, signed: Option<&dyn Fn(&Witness) -> bool>) -> Result<HistoryCheck> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions ORDER BY id");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        // Per subject: the hash the next record must link to, the count, the last id.
        let mut chains: HashMap<String, (String, i64, i64)> = HashMap::new();
        let mut count = 0u64;
        // Many records share a policy: check each stored policy text once.
        let mut policies_checked: HashSet<String> = HashSet::new();
        // Per record id: the hash a witness of it must name.
        let mut witness_hashes: HashMap<i64, String> = HashMap::new();
        let broken = |id: i64, records: u64, problem: &str| HistoryCheck {
            intact: false,
            records,
            first_broken_record: Some(id),
            problem: Some(problem.to_owned()),
            witnessed_records: 0,
            last_witnessed_record: None,
            last_witnessed_at_ms: None,
        };
        while let Some(row) = rows.next()? {
            let raw = RawDecision::read(row)?;
            let id = raw.id;
            let Ok(d) = raw.into_decision() else {
                return Ok(broken(id, count, "the record is unreadable"));
            };
            let chain = chains
                .entry(d.subject.clone())
                .or_insert_with(|| (proof::GENESIS.to_owned(), 0, 0));
            if d.prev_hash != chain.0 {
                return Ok(broken(
                    id,
                    count,
                    "its link to the previous record is broken: a record before it was changed, removed or moved",
                ));
            }
            if proof::record_hash(&d) != d.record_hash {
                return Ok(broken(
                    id,
                    count,
                    "its contents do not match its hash: it was changed",
                ));
            }
            // An imported decision's policy text stayed on the device that recorded it.
            if let (Some(hash), None) = (&d.policy_hash, &d.origin_hash) {
                if !policies_checked.contains(hash) {
                    let shown: Option<String> = self
                        .conn
                        .query_row(
                            "SELECT canonical_json FROM policies WHERE hash = ?1",
                            [hash],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if shown.is_none_or(|text| proof::sha256_hex(text.as_bytes()) != *hash) {
                        return Ok(broken(
                            id,
                            count,
                            "the policy it was shown is missing or was changed",
                        ));
                    }
                    policies_checked.insert(hash.clone());
                }
            }
            witness_hashes.insert(id, d.witness_hash().to_owned());
            *chain = (d.record_hash, chain.1 + 1, id);
            count += 1;
        }
        let mut heads = self
            .conn
            .prepare("SELECT subject, head, length FROM chain")?;
        let heads: Vec<(String, String, i64)> = heads
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (subject, head, length) in &heads {
            let (last_hash, seen, last_id) = chains
                .get(subject)
                .cloned()
                .unwrap_or_else(|| (proof::GENESIS.to_owned(), 0, 0));
            if *head != last_hash || *length != seen {
                return Ok(broken(
                    last_id + 1,
                    count,
                    "the chain head does not match the last record: records at the end were removed",
                ));
            }
        }
        if let Some((_, (_, _, first))) = chains
            .iter()
            .find(|(s, _)| !heads.iter().any(|h| h.0 == **s))
        {
            return Ok(broken(
                *first,
                count,
                "records exist for a subject whose chain is gone",
            ));
        }
        let mut stmt = self.conn.prepare(
            "SELECT record_hash, backend_time_ms, signature, decision_id FROM witnesses ORDER BY decision_id",
        )?;
        let witnesses: Vec<((String, i64, String), i64)> = stmt
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut witnessed_records = 0u64;
        let mut last: Option<(i64, i64)> = None;
        for (row, decision_id) in witnesses {
            let hash = row.0.clone();
            let Some(witness) = witness_from_row(row) else {
                return Ok(broken(decision_id, count, "a witness of it is unreadable"));
            };
            if witness_hashes.get(&decision_id) != Some(&hash) {
                return Ok(broken(
                    decision_id,
                    count,
                    "the back end witnessed this record, and it was changed or removed since",
                ));
            }
            let Some(signed) = signed else {
                continue;
            };
            if !signed(&witness) {
                return Ok(broken(
                    decision_id,
                    count,
                    "its witness does not verify under the back end's key: it was forged or changed",
                ));
            }
            witnessed_records += 1;
            if last.is_none_or(|(id, _)| decision_id > id) {
                last = Some((decision_id, witness.backend_time_ms));
            }
        }
        Ok(HistoryCheck {
            intact: true,
            records: count,
            first_broken_record: None,
            problem: None,
            witnessed_records,
            last_witnessed_record: last.map(|(id, _)| id),
            last_witnessed_at_ms: last.map(|(_, at)| at),
        })
    }

    /// The subject's most recent decision. One index lookup: opening does not grow with history.
    pub fn latest_decision(&self, subject: &str) -> Result<Option<Decision>> {
        let found = select(
            &self.conn,
            "WHERE subject = ?1 ORDER BY id DESC LIMIT 1",
            [subject],
        )?;
        Ok(found.into_iter().next())
    }

    /// The subject's decisions, oldest first.
    pub fn history(&self, subject: &str) -> Result<Vec<Decision>> {
        select(&self.conn, "WHERE subject = ?1 ORDER BY id", [subject])
    }

    /// SQLite's `data_version`: changes when another connection (another process) commits.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Up to `limit` decisions the back end has not acknowledged, oldest first.
    pub fn pending(&self, limit: u32) -> Result<Vec<Decision>> {
        select(
            &self.conn,
            "WHERE id IN (SELECT decision_id FROM outbox) ORDER BY id LIMIT ?1",
            [limit],
        )
    }

    /// Removes delivered decisions from the outbox; unknown ids are ignored.
    pub fn acknowledge(&mut self, ids: &[i64]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut delete = tx.prepare("DELETE FROM outbox WHERE decision_id = ?1")?;
            for id in ids {
                delete.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether a decision imported from this remote record hash is already here.
    pub fn has_imported(&self, origin_hash: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM decisions WHERE origin_hash = ?1",
                [origin_hash],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Erasure: deletes the subject's decisions, outbox entries and chain in one transaction.
    pub fn erase(&mut self, subject: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::without_append_only(&tx, AppendOnly::Delete, |tx| {
            tx.execute(
                "DELETE FROM outbox WHERE decision_id IN (SELECT id FROM decisions WHERE subject = ?1)",
                [subject],
            )?;
            tx.execute("DELETE FROM witnesses WHERE subject = ?1", [subject])?;
            tx.execute("DELETE FROM decisions WHERE subject = ?1", [subject])?;
            tx.execute("DELETE FROM chain WHERE subject = ?1", [subject])?;
            tx.execute("DELETE FROM time_marks WHERE subject = ?1", [subject])?;
            Ok(())
        })?;
        tx.commit()?;
        Ok(())
    }

    /// What moving the clock back must not undo for `subject` (0 for a mark never raised).
    pub fn marks(&self, subject: &str) -> Result<TimeMarks> {
        let marks = self
            .conn
            .query_row(
                "SELECT expired_through_id, reminded_through_id FROM time_marks WHERE subject = ?1",
                [subject],
                |r| {
                    Ok(TimeMarks {
                        expired_through_id: r.get(0)?,
                        reminded_through_id: r.get(1)?,
                    })
                },
            )
            .optional()?;
        Ok(marks.unwrap_or_default())
    }

    /// Raises `subject`'s marks to `marks` (never lowers one).
    pub fn raise_marks(&mut self, subject: &str, marks: TimeMarks) -> Result<()> {
        self.conn.execute(
            "INSERT INTO time_marks (subject, expired_through_id, reminded_through_id) \
             VALUES (?1, ?2, ?3) ON CONFLICT (subject) DO UPDATE SET \
             expired_through_id = max(expired_through_id, excluded.expired_through_id), \
             reminded_through_id = max(reminded_through_id, excluded.reminded_through_id)",
            params![subject, marks.expired_through_id, marks.reminded_through_id],
        )?;
        Ok(())
    }
}

fn insert_witness(conn: &Connection, w: &Witness, decision_id: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO witnesses (record_hash, decision_id, subject, backend_time_ms, signature) \
         VALUES (?1, ?2, (SELECT subject FROM decisions WHERE id = ?2), ?3, ?4)",
        params![w.record_hash, decision_id, w.backend_time_ms, hex(&w.signature)],
    )?;
    Ok(())
}

fn witness_from_row(
    (record_hash, backend_time_ms, signature): (String, i64, String),
) -> Option<Witness> {
    Some(Witness {
        record_hash,
        backend_time_ms,
        signature: decode_lower_hex(&signature)?,
    })
}

/// Brings the schema to [`schema::VERSION`] in one transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    // The usual case takes no write lock: opening must not wait for another process's write.
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| Error::open(path, e))?;
    if current == schema::VERSION {
        return Ok(());
    }
    // Re-read under the write lock: another process may have migrated meanwhile.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| Error::open(path, e))?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| Error::open(path, e))?;
    match version {
        0 => schema::create(&tx)?,
        v if v > schema::VERSION => {
            return Err(Error::SchemaTooNew {
                path: path.to_path_buf(),
                found: v,
                supported: schema::VERSION,
            })
        }
        v if v < 0 => return Err(Error::SchemaUnknown(v)),
        v => {
            for from in v..schema::VERSION {
                schema::upgrade_from(&tx, from)?;
            }
        }
    }
    if version != schema::VERSION {
        tx.pragma_update(None, "user_version", schema::VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

/// A decision row as stored, before it is checked.
struct RawDecision {
    id: i64,
    decided_at_ms: i64,
    policy_id: String,
    policy_revision: i64,
    source: String,
    locale: String,
    statistics: bool,
    personalization: bool,
    marketing: bool,
    sdks_shown: String,
    policy_hash: Option<String>,
    sdk_version: String,
    app_version: String,
    prev_hash: String,
    record_hash: String,
    tracking_authorization: String,
    subject: String,
    origin_hash: Option<String>,
}

impl RawDecision {
    fn read(row: &Row<'_>) -> rusqlite::Result<RawDecision> {
        Ok(RawDecision {
            id: row.get(0)?,
            decided_at_ms: row.get(1)?,
            policy_id: row.get(2)?,
            policy_revision: row.get(3)?,
            source: row.get(4)?,
            locale: row.get(5)?,
            statistics: row.get(6)?,
            personalization: row.get(7)?,
            marketing: row.get(8)?,
            sdks_shown: row.get(9)?,
            policy_hash: row.get(10)?,
            sdk_version: row.get(11)?,
            app_version: row.get(12)?,
            prev_hash: row.get(13)?,
            record_hash: row.get(14)?,
            tracking_authorization: row.get(15)?,
            subject: row.get(16)?,
            origin_hash: row.get(17)?,
        })
    }

    fn into_decision(self) -> Result<Decision> {
        let bad = |reason: String| Error::BadRecord {
            id: self.id,
            reason,
        };
        let source = DecisionSource::parse(&self.source)
            .ok_or_else(|| bad(format!("unknown source {:?}", self.source)))?;
        let policy_revision = u32::try_from(self.policy_revision).map_err(|_| {
            bad(format!(
                "policy revision {} out of range",
                self.policy_revision
            ))
        })?;
        let sdks_shown: Vec<String> = serde_json::from_str(&self.sdks_shown)
            .map_err(|e| bad(format!("sdks_shown is not a JSON list of ids: {e}")))?;
        let tracking_authorization = match self.tracking_authorization.as_str() {
            "" => None,
            other => Some(
                TrackingAuthorization::parse(other)
                    .ok_or_else(|| bad(format!("unknown tracking authorization {other:?}")))?,
            ),
        };
        Ok(Decision {
            id: self.id,
            decided_at_ms: self.decided_at_ms,
            policy_id: self.policy_id,
            policy_revision,
            source,
            locale: self.locale,
            grants: Grants {
                statistics: self.statistics,
                personalization: self.personalization,
                marketing: self.marketing,
            },
            sdks_shown,
            policy_hash: self.policy_hash,
            sdk_version: self.sdk_version,
            app_version: self.app_version,
            prev_hash: self.prev_hash,
            record_hash: self.record_hash,
            tracking_authorization,
            subject: self.subject,
            origin_hash: self.origin_hash,
        })
    }
}

/// The decisions a clause selects (`WHERE … ORDER BY … LIMIT …`), each checked as it is read.
fn select(conn: &Connection, clause: &str, params: impl rusqlite::Params) -> Result<Vec<Decision>> {
    let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions {clause}");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params, RawDecision::read)?;
    rows.map(|raw| {
        raw.map_err(Error::from)
            .and_then(RawDecision::into_decision)
    })
    .collect()
}

/// A policy as stored once by hash (borrowed from the text it is made from: recording a decision
/// copies nothing of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyRow<'a> {
    pub hash: &'a str,
    pub policy_id: &'a str,
    pub revision: u32,
    pub canonical_json: &'a str,
}

/// What walking the hash chain found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryCheck {
    /// True when every record links to the one before and the chain head matches the last.
    pub intact: bool,
    /// How many records verified before the first problem (all of them when intact).
    pub records: u64,
    /// The id of the first record that fails (one past the last for records removed at the end).
    pub first_broken_record: Option<i64>,
    /// What is wrong there.
    pub problem: Option<String>,
    /// How many records the app's back end witnessed (signatures checked under the configured key;
    /// 0 without one). A witnessed record, and every record before it in its chain, cannot be
    /// rewritten on the device without this check failing, as long as its witness is kept.
    pub witnessed_records: u64,
    /// The newest witnessed record, and when the back end witnessed it (its clock).
    pub last_witnessed_record: Option<i64>,
    pub last_witnessed_at_ms: Option<i64>,
}

fn insert(conn: &Connection, d: &Decision) -> Result<()> {
    let sdks_shown = serde_json::to_string(&d.sdks_shown).map_err(|e| Error::BadRecord {
        id: d.id,
        reason: e.to_string(),
    })?;
    conn.execute(
        "INSERT INTO decisions (id, decided_at_ms, policy_id, policy_revision, source, locale, \
         statistics, personalization, marketing, sdks_shown, policy_hash, sdk_version, app_version, \
         prev_hash, record_hash, tracking_authorization, subject, origin_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            d.id,
            d.decided_at_ms,
            d.policy_id,
            d.policy_revision,
            d.source.as_str(),
            d.locale,
            d.grants.statistics,
            d.grants.personalization,
            d.grants.marketing,
            sdks_shown,
            d.policy_hash,
            d.sdk_version,
            d.app_version,
            d.prev_hash,
            d.record_hash,
            d.tracking_authorization.map_or("", |t| t.as_str()),
            d.subject,
            d.origin_hash,
        ],
    )?;
    Ok(())
}

/// A subject's chain head hash and length (the genesis hash and 0 when it has no record).
fn chain_head(conn: &Connection, subject: &str) -> Result<(String, i64)> {
    let head = conn
        .query_row(
            "SELECT head, length FROM chain WHERE subject = ?1",
            [subject],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(head.unwrap_or_else(|| (proof::GENESIS.to_owned(), 0)))
}

fn set_chain_head(conn: &Connection, subject: &str, head: &str, length: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO chain (subject, head, length) VALUES (?1, ?2, ?3)",
        params![subject, head, length],
    )?;
    Ok(())
}

/// Schema upgrade 1 → 2: gives the records written before the chain existed their links, in order.
pub(crate) fn chain_existing_records(tx: &Connection) -> Result<()> {
    let decisions = select(tx, "ORDER BY id", [])?;
    let (prev, length) = schema::without_append_only(tx, AppendOnly::Update, |tx| {
        let mut prev = proof::GENESIS.to_owned();
        let mut length = 0;
        for mut d in decisions {
            d.prev_hash = prev;
            d.record_hash = proof::record_hash(&d);
            tx.execute(
                "UPDATE decisions SET prev_hash = ?1, record_hash = ?2 WHERE id = ?3",
                params![d.prev_hash, d.record_hash, d.id],
            )?;
            prev = d.record_hash;
            length += 1;
        }
        Ok((prev, length))
    })?;
    set_chain_head(tx, "", &prev, length)
}

/// Errors that mean another connection holds a lock for now.
fn is_busy(error: &Error) -> bool {
    let sqlite = match error {
        Error::Open { source, .. } | Error::Sql(source) => source,
        _ => return false,
    };
    matches!(
        sqlite.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Errors that mean the file is not a usable database: recovered by moving it aside.
fn is_corruption(error: &Error) -> bool {
    let sqlite = match error {
        Error::Open { source, .. } | Error::Sql(source) => source,
        Error::BadRecord { .. } => return true,
        _ => return false,
    };
    matches!(
        sqlite.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt | ErrorCode::TooBig)
    )
}

/// `<path><suffix>`: the WAL, the shared-memory index, the identity copy.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

fn read_identity_file(path: &Path) -> Option<i64> {
    std::fs::read_to_string(sibling(path, ".id"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Renames a foreign `-wal` (and `-shm`) to `<path>-wal.foreign-<unix-seconds>`.
fn move_wal_aside(path: &Path, now_ms: i64) -> Result<PathBuf> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let aside = sibling(path, &format!("-wal.foreign-{}", now_ms.div_euclid(1000)));
    std::fs::rename(sibling(path, "-wal"), &aside).map_err(io)?;
    let shm = sibling(path, "-shm");
    if shm.exists() {
        std::fs::remove_file(shm).map_err(io)?;
    }
    Ok(aside)
}

/// Renames the database (and its `-wal`, `-shm`) to `<path>.corrupt-<unix-seconds>[.<n>]`.
fn move_aside(path: &Path, now_ms: i64) -> Result<PathBuf> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let base = format!("{}.corrupt-{}", path.display(), now_ms.div_euclid(1000));
    let aside = (0..1000)
        .map(|n| match n {
            0 => PathBuf::from(&base),
            n => PathBuf::from(format!("{base}.{n}")),
        })
        .find(|p| !p.exists())
        .ok_or_else(|| io(std::io::Error::other("too many moved-aside copies")))?;
    std::fs::rename(path, &aside).map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&side, to).map_err(io)?;
        }
    }
    Ok(aside)
}
