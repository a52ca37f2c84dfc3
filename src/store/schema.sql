-- The consent store as this SDK writes it (schema version 3): what a fresh store is created with,
-- in one place. A store of an earlier version reaches the same tables through the steps in
-- `migrations/` (the tests compare the two). `PRAGMA user_version` holds the version.

-- The decision log. A consent record is evidence: it is never edited or deleted through the SDK
-- (the triggers below); each record's fields are the ones `Decision::fields` names. The columns
-- stand in the order the schema versions added them.
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
    sdks_shown       TEXT    NOT NULL,  -- JSON array of the SDK ids the policy listed
    -- Since version 2. An imported decision may name a policy this device never stored: no foreign key.
    policy_hash TEXT,  -- SHA-256 of the canonical policy JSON shown (in `policies`); NULL before version 2
    sdk_version TEXT NOT NULL DEFAULT '',
    app_version TEXT NOT NULL DEFAULT '',
    tracking_authorization TEXT NOT NULL DEFAULT '',  -- '' = not recorded
    prev_hash   TEXT NOT NULL DEFAULT '',  -- the hash chain: the previous record's hash of this subject
    record_hash TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',  -- an account id, or '' for the anonymous device
    origin_hash TEXT  -- the remote record_hash of an imported decision
);
CREATE TRIGGER decisions_are_append_only_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_are_append_only_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE INDEX decisions_by_subject ON decisions (subject, id);
CREATE UNIQUE INDEX decisions_imported_once ON decisions (origin_hash) WHERE origin_hash IS NOT NULL;

-- Each distinct policy text shown, once, by hash.
CREATE TABLE policies (
    hash           TEXT    PRIMARY KEY NOT NULL,  -- SHA-256 of canonical_json
    policy_id      TEXT    NOT NULL,
    revision       INTEGER NOT NULL,
    canonical_json TEXT    NOT NULL
) WITHOUT ROWID;

-- Per subject, the head of its hash chain and its length: removing the last records shows too.
CREATE TABLE chain (
    subject TEXT    PRIMARY KEY NOT NULL,
    head    TEXT    NOT NULL,
    length  INTEGER NOT NULL
) WITHOUT ROWID;

-- The decisions the app has not yet acknowledged sending to its back end.
CREATE TABLE outbox (
    decision_id INTEGER PRIMARY KEY NOT NULL REFERENCES decisions (id)
);

-- The back end's signed acknowledgements of records (for an imported decision, the signature it
-- came with, keyed by its hash on the device that made it).
CREATE TABLE witnesses (
    record_hash     TEXT    PRIMARY KEY NOT NULL,  -- the record's hash (an import's: origin_hash)
    decision_id     INTEGER NOT NULL,              -- the record it witnesses in this store
    subject         TEXT    NOT NULL,              -- whose record it is
    backend_time_ms INTEGER NOT NULL,
    signature       TEXT    NOT NULL               -- Ed25519, 128 hex digits
) WITHOUT ROWID;

-- Per subject, the newest decision seen expired (or dated in the future) and the newest whose
-- refusal reminder fell due: what moving the clock back cannot undo.
CREATE TABLE time_marks (
    subject             TEXT    PRIMARY KEY NOT NULL,
    expired_through_id  INTEGER NOT NULL,
    reminded_through_id INTEGER NOT NULL
) WITHOUT ROWID;

-- Small values of the store (`store/meta.rs`): its random id, the page key, the count of pages
-- closed without a decision; in stores from versions 1 and 2, the clock mark they kept.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
