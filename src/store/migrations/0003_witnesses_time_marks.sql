-- Schema version 2 → 3: the back end as witness. `witnesses` keeps the back end's signed
-- acknowledgements of records (for an imported decision, the signature it came with, keyed by its
-- hash on the device that made it), each with the id of the record it witnesses here. Adoptions at
-- login no longer go to the back end: any still waiting in the outbox are taken out. `time_marks`
-- replaces `meta.clock_mark_ms`: per subject, the newest decision seen expired (or dated in the
-- future) and the newest whose refusal reminder fell due, which moving the clock back cannot undo.
-- Frozen: a release shipped it.
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
