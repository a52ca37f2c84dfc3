//! Opening a store: WAL, `synchronous=FULL`, the busy timeout, a bound on what SQLite reads, the
//! migration. A file that is not a database, or is corrupt, is moved aside once and a fresh store
//! opened; a WAL file left beside it by another store is moved aside unapplied (the store's id, kept
//! in `meta` and in `<path>.id`, tells).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode};

use super::{migrations, schema, Opened, Store};
use crate::error::{Error, Result};

/// How long a write waits for another connection (another process) to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest row, string or blob SQLite reads or writes on our connections: a policy text at its
/// largest fits four times over; a damaged or hostile file with a larger one is refused (and moved
/// aside) instead of being read into memory.
const MAX_VALUE_BYTES: i32 = 4 * 1024 * 1024;

impl Store {
    /// Opens (creating if needed) the database at `path`. A corrupt file or one that is not a
    /// database is moved to `<path>.corrupt-<unix-seconds>` (with its `-wal` and `-shm`) and a fresh
    /// database is created, once. `now_ms` names the moved file.
    pub fn open(path: &Path, now_ms: i64, max_pages: Option<u32>) -> Result<Opened> {
        // A file removed as it opened (see `note_files`) detaches it at once: open again.
        for _ in 0..3 {
            let opened = Self::open_at(path, now_ms, max_pages)?;
            if !opened.store.is_detached() {
                return Ok(opened);
            }
        }
        Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("the store's files were removed each time it was opened"),
        })
    }

    fn open_at(path: &Path, now_ms: i64, max_pages: Option<u32>) -> Result<Opened> {
        let named = path;
        let resolved = resolve(named);
        let path = resolved.as_path();
        let had_wal = std::fs::metadata(sibling(path, "-wal")).is_ok_and(|m| m.len() > 0);
        let mut opened = match Self::open_retrying(named, path, max_pages) {
            Ok(opened) => opened,
            Err(error) if is_corruption(&error) => {
                let aside = move_aside(path, now_ms)?;
                let mut opened = Self::open_retrying(named, path, max_pages)?;
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
                if let Ok(conn) = &opened.store.conn {
                    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
                }
                drop(opened);
                let aside = move_wal_aside(path, now_ms)?;
                opened = Self::open_retrying(named, path, max_pages)?;
                opened.recovered_from = Some(aside);
            }
        }
        opened.store.ensure_identity(path)?;
        opened.store.note_files();
        Ok(opened)
    }

    /// Opens an existing database for reading only (no migration, nothing written): for checks
    /// from a terminal. Schema version 2 or later.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let resolved = resolve(path);
        let path = resolved.as_path();
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
            conn: Ok(conn),
            path: path.to_path_buf(),
            named: path.to_path_buf(),
            files: None,
            seen_when_detached: None,
        })
    }

    /// Gives the store a random id if it has none, and keeps a copy in `<path>.id`, outside the
    /// pages a WAL file can replace. Failing to write the copy only loses that check.
    fn ensure_identity(&mut self, path: &Path) -> Result<()> {
        let id = self.give_store_id()?;
        if read_identity_file(path) != Some(id) {
            let _ = write_durably(&sibling(path, ".id"), id.to_string().as_bytes());
        }
        Ok(())
    }

    /// Another process opening the same new file at the same moment holds the lock that switching
    /// to WAL needs, and SQLite does not wait for that one: retry within the busy timeout.
    fn open_retrying(named: &Path, path: &Path, max_pages: Option<u32>) -> Result<Opened> {
        let started = std::time::Instant::now();
        loop {
            match Self::open_once(named, path, max_pages) {
                Err(error) if is_busy(&error) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                result => return result,
            }
        }
    }

    fn open_once(named: &Path, path: &Path, max_pages: Option<u32>) -> Result<Opened> {
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
        if let Some(pages) = max_pages {
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(in_path)?;
        }
        // FULL: in WAL mode, NORMAL may lose the last commits on power loss; a confirmed choice must not.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(in_path)?;
        migrations::migrate(&mut conn, path)?;
        let store = Store {
            conn: Ok(conn),
            path: path.to_path_buf(),
            named: named.to_path_buf(),
            files: None,
            seen_when_detached: None,
        };
        let latest = store.latest_decision("")?;
        let marks = store.marks("")?;
        let legacy_clock_mark = store.legacy_clock_mark()?;
        Ok(Opened {
            store,
            latest,
            marks,
            legacy_clock_mark,
            recovered_from: None,
        })
    }
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
/// The file the app named, through any symlinks (of the file or of a directory above it). SQLite
/// opens the target and keeps its `-wal` and `-shm` beside it, so the WAL identity check, the `.id`
/// copy and recovery must all act beside the target too: beside the link they would check another
/// file than SQLite replays, and move the link instead of the damaged file. A path that does not exist
/// yet is followed through a dangling link to the file SQLite will create there, with the directories
/// above it resolved.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(path) {
        return resolved;
    }
    let mut file = path.to_path_buf();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&file) else {
            break;
        };
        file = match file.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return file;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).map_or(file.clone(), |dir| dir.join(name))
}

pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// Writes `bytes` to `path` as one step a power cut cannot tear: into a temporary file, synced,
/// renamed over `path`, and the directory synced. A torn `.id` (a prefix of the digits) would name
/// another store, and this store's own WAL would be moved aside as foreign.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = sibling(path, ".tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        // Not every platform can open a directory to sync it; the rename is then as durable as
        // the file system makes it.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn read_identity_file(path: &Path) -> Option<i64> {
    std::fs::read_to_string(sibling(path, ".id"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Renames a foreign `-wal` (and `-shm`) to `<path>-wal.foreign-<unix-seconds>`.
pub(super) fn move_wal_aside(path: &Path, now_ms: i64) -> Result<PathBuf> {
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
