//! The database schema, in one place. The version lives in `PRAGMA user_version`; every upgrade is one
//! arm of the `match` in [`upgrade_from`], each tested from a snapshot of the older schema.

use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};

/// The schema version this SDK writes.
pub const VERSION: i64 = 3;

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

/// Version 2: proof of consent, profiles and sync. Each distinct policy shown is stored once by hash;
/// each decision records its subject (`''` is the anonymous device), the policy hash, the SDK and app
/// versions, the ATT status, where it was imported from, and its place in its subject's hash chain,
/// whose head and length are kept in `chain` so that removing the last records is detected too.
/// `outbox` lists the decisions the app has not yet acknowledged sending to its back end.
const UPGRADE_1_TO_2: &str = "
CREATE TABLE policies (
    hash           TEXT    PRIMARY KEY NOT NULL,  -- SHA-256 of canonical_json
    policy_id      TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    canonical_json TEXT    NOT NULL
) WITHOUT ROWID;
-- An imported decision may name a policy this device never stored: no foreign key.
ALTER TABLE decisions ADD COLUMN policy_hash TEXT;
ALTER TABLE decisions ADD COLUMN sdk_version TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN tracking_authorization TEXT NOT NULL DEFAULT '';  -- '' = not recorded
ALTER TABLE decisions ADD COLUMN prev_hash   TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN record_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN subject     TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN origin_hash TEXT;  -- the remote record_hash of an imported decision
CREATE INDEX decisions_by_subject ON decisions (subject, id);
CREATE UNIQUE INDEX decisions_imported_once ON decisions (origin_hash) WHERE origin_hash IS NOT NULL;
CREATE TABLE chain (
    subject TEXT    PRIMARY KEY NOT NULL,
    head    TEXT    NOT NULL,
    length  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE outbox (
    decision_id INTEGER PRIMARY KEY NOT NULL REFERENCES decisions (id)
);
";

/// Version 3: the back end as witness. `witnesses` keeps the back end's signed acknowledgements of
/// records (for an imported decision, the signature it came with, keyed by its hash on the device that
/// made it), each with the id of the record it witnesses here. Adoptions at login no longer go to the
/// back end: any still waiting in the outbox are taken out. `time_marks` replaces
/// `meta.clock_mark_ms`: per subject, the newest decision seen expired (or dated in the future) and
/// the newest whose refusal reminder fell due, which moving the clock back cannot undo.
const UPGRADE_2_TO_3: &str = "
CREATE TABLE time_marks (
    subject             TEXT    PRIMARY KEY NOT NULL,
    expired_through_id  INTEGER NOT NULL,
    reminded_through_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE witnesses (
    record_hash     TEXT    PRIMARY KEY NOT NULL,  -- the record's hash (an import's: origin_hash)
    decision_id     INTEGER NOT NULL,              -- the record it witnesses in this store
    subject         TEXT    NOT NULL,              -- whose record it is
    backend_time_ms INTEGER NOT NULL,
    signature       TEXT    NOT NULL               -- Ed25519, 128 hex digits
) WITHOUT ROWID;
DELETE FROM outbox WHERE decision_id IN (SELECT id FROM decisions WHERE source = 'subject_link');
-- The old clock mark speaks only of the decisions there were when it was written.
INSERT OR REPLACE INTO meta (key, value)
    SELECT 'clock_mark_through_id', COALESCE(MAX(id), 0) FROM decisions;
";

/// Creates the current schema in an empty database: version 1, then every upgrade, so a fresh
/// database and an upgraded one are the same by construction (and the tests compare them).
pub fn create(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(CREATE_V1)?;
    for from in 1..VERSION {
        upgrade_from(tx, from)?;
    }
    Ok(())
}

/// The operations the append-only triggers of version 1 forbid on `decisions`.
#[derive(Debug, Clone, Copy)]
pub enum AppendOnly {
    Update,
    Delete,
}

impl AppendOnly {
    /// The trigger as `CREATE_V1` creates it.
    fn trigger(self) -> &'static str {
        match self {
            AppendOnly::Update => {
                "CREATE TRIGGER decisions_are_append_only_update BEFORE UPDATE ON decisions\n\
                 BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;"
            }
            AppendOnly::Delete => {
                "CREATE TRIGGER decisions_are_append_only_delete BEFORE DELETE ON decisions\n\
                 BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;"
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            AppendOnly::Update => "decisions_are_append_only_update",
            AppendOnly::Delete => "decisions_are_append_only_delete",
        }
    }
}

/// Runs `f` with one append-only trigger lifted, inside the caller's transaction, and puts it back
/// exactly as the schema defines it (the SDK's own erasure and the chain upgrade need it; nothing else
/// may change a record).
pub fn without_append_only<T>(
    tx: &Connection,
    op: AppendOnly,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    tx.execute_batch(&format!("DROP TRIGGER {}", op.name()))?;
    let value = f(tx)?;
    tx.execute_batch(op.trigger())?;
    Ok(value)
}

/// Upgrades a database from `version` to `version + 1`. Called for each version from the file's up
/// to [`VERSION`], inside the opening transaction.
pub fn upgrade_from(tx: &Transaction<'_>, version: i64) -> Result<()> {
    match version {
        1 => {
            tx.execute_batch(UPGRADE_1_TO_2)?;
            // Records from version 1 join the chain as they are (no policy hash, no versions).
            crate::store::chain_existing_records(tx)
        }
        2 => Ok(tx.execute_batch(UPGRADE_2_TO_3)?),
        other => Err(Error::SchemaUnknown(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::{AppendOnly, CREATE_V1};

    #[test]
    fn the_triggers_put_back_are_the_schemas_own() {
        for op in [AppendOnly::Update, AppendOnly::Delete] {
            assert!(CREATE_V1.contains(op.trigger()), "{op:?}");
        }
    }
}
