//! The back end's witnesses of records (`witnesses`), by the hash it signed: a record's own, or an
//! import's `origin_hash`.

use std::collections::HashMap;

use rusqlite::{named_params, Connection, OptionalExtension, Row};

use super::Store;
use crate::error::Result;
use crate::proof::witness::Witness;
use crate::proof::{decode_lower_hex, hex};

/// A row of `witnesses` as stored, before its signature is read.
pub(super) struct WitnessRow {
    pub record_hash: String,
    backend_time_ms: i64,
    signature: String,
}

impl WitnessRow {
    pub fn read(row: &Row<'_>) -> rusqlite::Result<WitnessRow> {
        Ok(WitnessRow {
            record_hash: row.get("record_hash")?,
            backend_time_ms: row.get("backend_time_ms")?,
            signature: row.get("signature")?,
        })
    }

    /// The witness, or `None` when the signature is not one in the form the SDK writes.
    pub fn witness(self) -> Option<Witness> {
        Some(Witness {
            signature: decode_lower_hex(&self.signature)?,
            record_hash: self.record_hash,
            backend_time_ms: self.backend_time_ms,
        })
    }
}

/// Keeps a witness of the record `decision_id` (replacing an earlier one of the same hash).
pub(super) fn insert(conn: &Connection, w: &Witness, decision_id: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO witnesses (record_hash, decision_id, subject, backend_time_ms, signature) \
         VALUES (:record_hash, :decision_id, (SELECT subject FROM decisions WHERE id = :decision_id), \
         :backend_time_ms, :signature)",
        named_params! {
            ":record_hash": w.record_hash,
            ":decision_id": decision_id,
            ":backend_time_ms": w.backend_time_ms,
            ":signature": hex(&w.signature),
        },
    )?;
    Ok(())
}

impl Store {
    /// Keeps the back end's witness of one of this store's records and takes it out of the outbox,
    /// in one transaction. Returns the record's id, or `None` when no record here has that hash.
    pub fn add_witness(&mut self, witness: &Witness) -> Result<Option<i64>> {
        self.write(|tx| {
            let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM decisions WHERE record_hash = :record_hash AND source != 'import'",
                named_params! {":record_hash": witness.record_hash},
                |r| r.get("id"),
            )
            .optional()?;
            if let Some(id) = id {
                insert(tx, witness, id)?;
                tx.execute(
                    "DELETE FROM outbox WHERE decision_id = :id",
                    named_params! {":id": id},
                )?;
            }
            Ok(id)
        })
    }

    /// The back end's witness of a record (by its witness hash: see [`Decision::witness_hash`]).
    ///
    /// [`Decision::witness_hash`]: crate::record::Decision::witness_hash
    pub fn witness(&self, record_hash: &str) -> Result<Option<Witness>> {
        let row = self
            .conn()?
            .query_row(
                "SELECT record_hash, backend_time_ms, signature FROM witnesses \
                 WHERE record_hash = :record_hash",
                named_params! {":record_hash": record_hash},
                WitnessRow::read,
            )
            .optional()?;
        Ok(row.and_then(WitnessRow::witness))
    }

    /// The newest witness of a record of `subject`, with the id of the record it names here. A row
    /// that cannot be read as a witness comes back as one that verifies under no key.
    pub fn newest_witness(&self, subject: &str) -> Result<Option<(i64, Witness)>> {
        let row = self
            .conn()?
            .query_row(
                "SELECT decision_id, record_hash, backend_time_ms, signature FROM witnesses \
                 WHERE subject = :subject ORDER BY decision_id DESC LIMIT 1",
                named_params! {":subject": subject},
                |r| Ok((r.get("decision_id")?, WitnessRow::read(r)?)),
            )
            .optional()?;
        Ok(row.map(|(id, row): (i64, WitnessRow)| {
            let unreadable = Witness {
                record_hash: row.record_hash.clone(),
                backend_time_ms: row.backend_time_ms,
                signature: [0u8; 64],
            };
            (id, row.witness().unwrap_or(unreadable))
        }))
    }

    /// When the back end witnessed each record that it did, by witness hash.
    pub fn witness_times(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self
            .conn()?
            .prepare("SELECT record_hash, backend_time_ms FROM witnesses")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get("record_hash")?, r.get("backend_time_ms")?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
