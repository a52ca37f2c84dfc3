//! The consent store: one SQLite file, opened in WAL mode with one writer connection. Each decision
//! is one transaction, synced to disk before the call returns. The store knows the decision record
//! (`crate::record`) and its hash (`crate::proof`), and no rule: what a record means is the rules'.
//!
//! One file a concern, each adding to [`Store`] what it owns; none of them imports this one's
//! siblings upwards, so the folder has no cycle:
//!
//! - `open.rs`: opening (WAL, limits, retries), recovery (a corrupt file or a foreign WAL moved aside)
//!   and the store's identity.
//! - `schema.rs` (+ `schema.sql`): the current tables in one SQL text, the schema version, the
//!   append-only triggers.
//! - `migrations/`: the driver from `PRAGMA user_version` to the current version, one frozen step a
//!   version (`0002_….sql`, `0003_….sql`).
//! - `rows.rs`: decision rows, written and read by column name from the record's one list of fields.
//! - `chain.rs`: appending a record to its subject's hash chain, and walking every chain.
//! - `witnesses.rs`: the back end's witnesses of records.
//! - `meta.rs`: `meta` (the store's small values) and `time_marks`.
//! - `files.rs`: the files the open connection uses, looked at before and after every write; a
//!   store whose files were removed or replaced at its path is detached, and reopened there.

mod chain;
mod files;
mod meta;
mod migrations;
mod open;
mod rows;
mod schema;
mod witnesses;

use std::path::PathBuf;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::record::{Decision, TimeMarks};

/// An open consent database.
pub struct Store {
    /// The connection, or once detached why: its files are no longer the ones at the path (see
    /// `files.rs`).
    conn: std::result::Result<Connection, String>,
    /// Where SQLite opened it: the path the app named, through any symlinks.
    path: PathBuf,
    /// The path the app named, as it named it: where the store is reopened.
    named: PathBuf,
    /// The files the connection uses, once opened for writing (`None` while opening, and for a
    /// read-only store, which confirms nothing).
    files: Option<files::Files>,
    /// What the connection saw of the history when it was detached.
    seen_when_detached: Option<files::Seen>,
}

impl Store {
    /// A storage error about this file.
    pub fn io_error(&self, what: &str) -> Error {
        Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other(what.to_owned()),
        }
    }

    /// The connection, or a storage error once the store is detached.
    fn conn(&self) -> Result<&Connection> {
        self.conn.as_ref().map_err(|reason| self.io_error(reason))
    }

    /// SQLite's `data_version`: changes when another connection (another process) commits.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn()?
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
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
