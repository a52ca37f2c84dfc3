//! The database schema, in one place. The version lives in `PRAGMA user_version`; every upgrade is one
//! arm of the `match` in [`upgrade_from`], each tested from a snapshot of the older schema.

use rusqlite::Transaction;

use crate::error::{Error, Result};

/// The schema version this SDK writes.
pub const VERSION: i64 = 1;

/// Version 1: the append-only decision log and a small key/value table.
const CREATE_V1: &str = "
CREATE TABLE decisions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    decided_at_ms    INTEGER NOT NULL,
    policy_id        TEXT    NOT NULL,
    policy_revision  INTEGER NOT NULL CHECK (policy_revision >= 1),
    source           TEXT    NOT NULL,
    locale           TEXT    NOT NULL,
    statistics       INTEGER NOT NULL CHECK (statistics IN (0, 1)),
    personalization  INTEGER NOT NULL CHECK (personalization IN (0, 1)),
    marketing        INTEGER NOT NULL CHECK (marketing IN (0, 1)),
    sdks_shown       TEXT    NOT NULL  -- JSON array of the SDK ids the policy listed
);
-- A consent record is evidence: it is never edited or deleted through the SDK.
CREATE TRIGGER decisions_are_append_only_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_are_append_only_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;

-- clock_mark_ms: the latest time the SDK has acted on, so a clock moved back cannot revive a decision.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Creates the current schema in an empty database.
pub fn create(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(CREATE_V1)?;
    Ok(())
}

/// Upgrades a database from `version` to `version + 1`. Called for each version from the file's up
/// to [`VERSION`], inside the opening transaction.
// The `match` is the migration table; it has one arm until version 2 exists.
#[allow(clippy::match_single_binding)]
pub fn upgrade_from(_tx: &Transaction<'_>, version: i64) -> Result<()> {
    match version {
        // Version 1 is the first schema: nothing older exists. Version 2 adds its arm here, e.g.
        // 1 => tx.execute_batch("ALTER TABLE decisions ADD COLUMN …")?,
        other => Err(Error::SchemaUnknown(other)),
    }
}
