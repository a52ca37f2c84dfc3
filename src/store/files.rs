//! The files an open store uses. SQLite keeps reading and writing through the descriptors it opened:
//! if the database, its `-wal` or its `-shm` is deleted, replaced or its directory removed while the
//! store is open, commits still succeed, into files no longer at the path the app named (lost at
//! the next launch), or with an index that no longer matches what another process writes (which
//! then overwrites that process's commits). So the store notes each file's identity (device and
//! inode) once open, and looks again before and after every write: three `stat` calls, beside a
//! write that already waits for `fsync`.
//!
//! A store whose files changed is detached: the write fails with a storage error, the connection is
//! closed without a checkpoint (its view must not reach the files now at the path), and the
//! manager reopens the store at the path. Before closing, when the database is still the one at
//! the path, the connection copies its WAL into it, so the decisions it confirmed before are kept
//! whatever became of the `-wal`. When the database was replaced but the
//! `-wal` at the path is still this connection's, that WAL is moved aside at the reopen: replayed
//! over another database, it would mix two stores' pages.

use std::path::Path;

use rusqlite::config::DbConfig;

use super::open::sibling;
use super::Store;
use crate::error::Result;

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

impl Store {
    /// Notes the files the connection uses now: from here on every write checks them. All three
    /// exist once SQLite has opened the store in WAL mode; one missing already was removed as it
    /// opened, and the store is detached at once (`open` then tries again).
    pub(super) fn note_files(&mut self) {
        let now = Files::at(&self.named, &self.path);
        self.files = Some(now);
        if now.db.is_none() || now.wal.is_none() || now.shm.is_none() {
            let rescue = now.db.is_some();
            self.detach(rescue, "a file of the store was removed as it was opened");
        }
    }

    /// Whether the store was detached (its files changed under it): reopen it with `reopen`.
    pub fn is_detached(&self) -> bool {
        self.detached.is_some()
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
        if self.detached.is_some() {
            return Some(("the store was detached from its files", false));
        }
        let noted = self.files?;
        let now = Files::at(&self.named, &self.path);
        let reason = noted.changed(&now)?;
        // The three `stat` calls are not one atomic look (the `-wal` can go between the first and
        // the last): whatever happened to the other two, while the database at the path is this
        // connection's, its WAL is copied into it.
        let rescue = now.db == noted.db;
        Some((reason, self.detach(rescue, reason)))
    }

    /// Closes the connection without the checkpoint SQLite runs at close (which would also delete
    /// the `-wal` at the path by name, another's perhaps), after copying its WAL into the database
    /// first when `rescue` says the database is still the one at the path. Returns whether that
    /// copy was made whole: then every commit of the connection is in the database at the path.
    /// Copying is safe even when the `-wal` is still there and another process writes to it: the
    /// copy writes this connection's pages, all older than any that process wrote since, only to
    /// the database file, and this connection never writes again.
    fn detach(&mut self, rescue: bool, reason: &str) -> bool {
        let mut kept = false;
        if let Some(conn) = self.conn.take() {
            if rescue {
                // (busy, frames in the WAL, frames copied): all copied, and the database synced.
                let copied = conn.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                });
                kept = matches!(copied, Ok((0, frames, done)) if frames == done);
            }
            let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
            drop(conn);
        }
        self.detached = Some(format!("{reason}; nothing more was written to it"));
        kept
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
        let Some(conn) = self.conn.as_mut() else {
            return Err(self.io_error("the store is closed"));
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
