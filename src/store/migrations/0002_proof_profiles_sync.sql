-- Schema version 1 → 2: proof of consent, profiles and sync. Each distinct policy shown is stored
-- once by hash; each decision records its subject (`''` is the anonymous device), the policy hash,
-- the SDK and app versions, the ATT status, where it was imported from, and its place in its
-- subject's hash chain, whose head and length are kept in `chain` so that removing the last records
-- is detected too. `outbox` lists the decisions the app has not yet acknowledged sending to its back
-- end. Frozen: a release shipped it. The records already there are chained in code afterwards.
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
