//! The files an open store uses. SQLite keeps reading and writing through the descriptors it opened:
//! if the database, its `-wal` or its `-shm` is deleted, replaced or its directory removed while the
//! store is open, commits still succeed, into files no longer at the path the app named (lost at
//! the next launch), or with an index that no longer matches what another process writes (which
//! then overwrites that process's commits). So the store notes each file's identity (device and
//! inode) once open, and looks again before and after every write: three `stat` calls, beside a
//! write that already waits for `fsync`.
//!
//! A store whose files changed is detached: the write fails with a storage error, the connection is
//! closed without SQLite's checkpoint-and-delete at close (its view must not reach the files now at
//! the path, nor its close delete another's `-wal` by name), and the manager reopens the store at
//! the path. What the connection saw of the history (chain heads, time marks) is kept, so the
//! manager can tell whether the reopened file holds the same history, and raise its marks.
//!
//! Before closing, the connection copies its WAL into the database (a checkpoint) only when that is
//! provably safe: the database at the path is still its own, the `-wal` and `-shm` at the path are
//! each gone or still its own (no process has indexed a WAL of this database anew since: that would
//! have made a new file at the path), and no other process has the database open (none holds
//! SQLite's shared lock on it). Then what it
//! confirmed before the `-wal` went is kept. Otherwise a copy through an index another process may
//! have outdated (by appending frames, or by starting the WAL over after its own checkpoint) would
//! write the wrong pages over the database, so nothing is copied. When the database was replaced but
//! the `-wal` at the path is still this connection's, that WAL is moved aside at the reopen: replayed
//! over another database, it would mix two stores' pages.

use std::path::Path;

use rusqlite::config::DbConfig;
use rusqlite::Connection;

use super::open::sibling;
use super::Store;
use crate::error::Result;
use crate::record::TimeMarks;

/// One file's identity, or `None` when nothing is at its path.
type FileId = Option<(u64, u64)>;

/// The identities of a store's three files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Files {
    db: FileId,
    wal: FileId,
    shm: FileId,
}

impl Files {
    /// What is at the paths now: the database as the app named it (through any symlink), the
    /// `-wal` and `-shm` beside the file SQLite opened.
    pub(super) fn at(named: &Path, path: &Path) -> Files {
        Files {
            db: identity(named),
            wal: identity(&sibling(path, "-wal")),
            shm: identity(&sibling(path, "-shm")),
        }
    }

    /// What differs from `self` in `now`, in words.
    fn changed(&self, now: &Files) -> Option<&'static str> {
        if now.db != self.db {
            Some("the database file was removed or replaced while the store was open")
        } else if now.wal != self.wal {
            Some("its -wal file was removed or replaced while the store was open")
        } else if now.shm != self.shm {
            Some("its -shm file was removed or replaced while the store was open")
        } else {
            None
        }
    }
}

#[cfg(unix)]
fn identity(path: &Path) -> FileId {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Elsewhere only whether the file is there (the SDK ships on Android and Apple platforms).
#[cfg(not(unix))]
fn identity(path: &Path) -> FileId {
    path.exists().then_some((0, 0))
}

/// SQLite's unix VFS read-locks these bytes of the database file (its shared lock) in every
/// connection that has read the file, for as long as that connection is open (in WAL mode the lock
/// is never dropped between transactions).
const SHARED_LOCK_FIRST: i64 = 0x4000_0000 + 2;
const SHARED_LOCK_BYTES: i64 = 510;

/// A descriptor of the database at `path` when no other process has it open (holds SQLite's shared
/// lock), or `None` when one does or it cannot be told. POSIX record locks belong to processes, so
/// this process's own connections are not seen. The caller keeps the descriptor until its own
/// connection is closed.
#[cfg(unix)]
fn alone(path: &Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: a zeroed `flock` is a valid value of that plain C struct, filled in below.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = SHARED_LOCK_FIRST as _;
    lock.l_len = SHARED_LOCK_BYTES as _;
    // SAFETY: `F_GETLK` with a valid descriptor and a pointer to a live `flock`, which it only
    // writes into.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lock) };
    (rc == 0 && i32::from(lock.l_type) == libc::F_UNLCK).then_some(file)
}

/// Elsewhere it cannot be told: never alone, so nothing is copied.
#[cfg(not(unix))]
fn alone(_path: &Path) -> Option<std::fs::File> {
    None
}

/// Copies the WAL into the database and syncs it, without waiting for any lock. Whether every
/// frame was copied.
fn copy_wal_into_database(conn: &Connection) -> bool {
    if conn.busy_timeout(std::time::Duration::ZERO).is_err() {
        return false;
    }
    // (busy, frames in the WAL, frames copied).
    let copied = conn.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    });
    matches!(copied, Ok((0, frames, done)) if frames == done)
}

/// A store's history in short: every subject's chain head, and every subject's time marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// (subject, head), by subject.
    pub heads: Vec<(String, String)>,
    /// (subject, marks), by subject.
    pub marks: Vec<(String, TimeMarks)>,
}

fn seen(conn: &Connection) -> Result<Seen> {
    let mut stmt = conn.prepare("SELECT subject, head FROM chain ORDER BY subject")?;
    let heads = stmt.query_map([], |r| Ok((r.get("subject")?, r.get("head")?)))?;
    let heads = heads.collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT subject, expired_through_id, reminded_through_id FROM time_marks ORDER BY subject",
    )?;
    let marks = stmt.query_map([], |r| {
        Ok((
            r.get("subject")?,
            TimeMarks {
                expired_through_id: r.get("expired_through_id")?,
                reminded_through_id: r.get("reminded_through_id")?,
            },
        ))
    })?;
    let marks = marks.collect::<rusqlite::Result<_>>()?;
    Ok(Seen { heads, marks })
}

impl Drop for Store {
    /// One last look: files changed under the store are left as they are, not checkpointed over
    /// (SQLite's close would copy a stale index's pages into the database and delete the `-wal`).
    fn drop(&mut self) {
        let _ = self.look();
    }
}

impl Store {
    /// Notes the files the connection uses now: from here on every write checks them. All three
    /// exist once SQLite has opened the store in WAL mode; one missing already was removed as it
    /// opened, and the store is detached at once (`open` then tries again).
    pub(super) fn note_files(&mut self) {
        let now = Files::at(&self.named, &self.path);
        self.files = Some(now);
        if now.db.is_none() || now.wal.is_none() || now.shm.is_none() {
            // Just opened: what is still there is taken as what SQLite opened, the rest went since.
            let rescue = now.db.is_some();
            self.detach(rescue, "a file of the store was removed as it was opened");
        }
    }

    /// Whether the store was detached (its files changed under it): reopen it with `reopen`.
    pub fn is_detached(&self) -> bool {
        self.conn.is_err()
    }

    /// Fails with a storage error, and detaches the store, when its files are no longer the ones
    /// at the path.
    pub fn check_files(&mut self) -> Result<()> {
        match self.look() {
            None => Ok(()),
            Some((reason, _)) => Err(self.io_error(reason)),
        }
    }

    /// Looks at the files; when they changed, detaches the store and says why, and whether every
    /// commit of the connection is now in the database at the path (its WAL was copied there).
    fn look(&mut self) -> Option<(&'static str, bool)> {
        if self.conn.is_err() {
            return Some(("the store was detached from its files", false));
        }
        let noted = self.files?;
        let now = Files::at(&self.named, &self.path);
        let reason = noted.changed(&now)?;
        // Each of the `-wal` and `-shm` gone or still this connection's, neither replaced: no
        // process has indexed a WAL of this database anew since (that would have made a new file
        // at the path). Whether another process has the store open is asked inside `detach`.
        let gone_or_ours = |now: FileId, noted: FileId| now.is_none() || now == noted;
        let rescue = now.db == noted.db
            && gone_or_ours(now.wal, noted.wal)
            && gone_or_ours(now.shm, noted.shm);
        Some((reason, self.detach(rescue, reason)))
    }

    /// Closes the connection without the checkpoint SQLite runs at close, after keeping the chain
    /// heads it saw and, when `rescue` allows it and no other process has the database open,
    /// copying its WAL into the database. Returns whether that copy was made whole: then every
    /// commit of the connection is in the database at the path.
    fn detach(&mut self, rescue: bool, reason: &str) -> bool {
        let mut kept = false;
        let detached = Err(format!("{reason}; nothing more was written to it"));
        if let Ok(conn) = std::mem::replace(&mut self.conn, detached) {
            self.seen_when_detached = seen(&conn).ok();
            // Kept open until the connection is closed: closing any descriptor of a file drops
            // every POSIX lock this process holds on it, the connection's included.
            let probe = if rescue { alone(&self.named) } else { None };
            if probe.is_some() {
                kept = copy_wal_into_database(&conn);
            }
            let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
            drop(conn);
            drop(probe);
        }
        kept
    }

    /// What the connection saw of the history when the store was detached.
    pub fn seen_when_detached(&self) -> Option<&Seen> {
        self.seen_when_detached.as_ref()
    }

    /// What the store holds of the history now (see [`Seen`]).
    pub fn seen(&self) -> Result<Seen> {
        seen(self.conn()?)
    }

    /// Opens the store again at the path the app named, after it was detached. The `-wal` this
    /// store used is moved aside first if it is still at the path beside another database.
    pub fn reopen(&self, now_ms: i64, max_pages: Option<u32>) -> Result<super::Opened> {
        if let Some(noted) = self.files {
            let now = Files::at(&self.named, &self.path);
            if now.db != noted.db && now.wal.is_some() && now.wal == noted.wal {
                super::open::move_wal_aside(&self.path, now_ms)?;
            }
        }
        Store::open(&self.named, now_ms, max_pages)
    }

    /// Runs `write` in one immediate transaction, durable when this returns, between two looks at
    /// the files: a write is only confirmed if its files are still the ones at the path.
    pub(super) fn write<T>(
        &mut self,
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.check_files()?;
        // Detached stores were refused by the look above.
        let Ok(conn) = self.conn.as_mut() else {
            return Err(self.io_error("the store was detached from its files"));
        };
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let value = write(&tx)?;
        tx.commit()?;
        match self.look() {
            // Still at the path, or copied into the database that is.
            None | Some((_, true)) => Ok(value),
            Some((reason, false)) => Err(self.io_error(reason)),
        }
    }
}
