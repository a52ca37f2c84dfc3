//! The hash chain: each subject's records linked in order by their hashes (`crate::proof`), the
//! head and length of each chain in `chain`; appending a record to it, and walking every chain
//! (`verify`).

use std::collections::{HashMap, HashSet};

use rusqlite::{named_params, Connection, OptionalExtension};

use super::schema::{self, AppendOnly};
use super::witnesses::{self, WitnessRow};
use super::{rows, HistoryCheck, PolicyRow, Store};
use crate::error::Result;
use crate::proof;
use crate::proof::witness::Witness;
use crate::record::Decision;

impl Store {
    /// Appends a decision in one transaction, durable when this returns: the policy it was made
    /// under (stored once by hash), the record with its place in the hash chain, the chain head, the
    /// outbox entry (for decisions the back end should hear of) and, for an import, the witness it
    /// came with. Returns it with its id and hashes.
    pub fn record(
        &mut self,
        mut decision: Decision,
        policy: Option<PolicyRow<'_>>,
        witness: Option<&Witness>,
    ) -> Result<Decision> {
        self.write(|tx| {
            if let Some(p) = policy {
                tx.execute(
                    "INSERT OR IGNORE INTO policies (hash, policy_id, revision, canonical_json) \
                     VALUES (:hash, :policy_id, :revision, :canonical_json)",
                    named_params! {
                        ":hash": p.hash,
                        ":policy_id": p.policy_id,
                        ":revision": p.revision,
                        ":canonical_json": p.canonical_json,
                    },
                )?;
            }
            // AUTOINCREMENT ids are never reused: the next one is the sequence plus one.
            decision.id = last_id(tx)? + 1;
            let (head, length) = head(tx, &decision.subject)?;
            decision.prev_hash = head;
            decision.record_hash = proof::record_hash(&decision);
            rows::insert(tx, &decision)?;
            set_head(tx, &decision.subject, &decision.record_hash, length + 1)?;
            if decision.source.goes_to_back_end() {
                tx.execute(
                    "INSERT INTO outbox (decision_id) VALUES (:id)",
                    named_params! {":id": decision.id},
                )?;
            }
            if let Some(w) = witness {
                witnesses::insert(tx, w, decision.id)?;
            }
            Ok(decision)
        })
    }

    /// The newest decision id of any subject (0 before the first) and `subject`'s chain head: what a
    /// consent page is bound to.
    pub fn page_state(&self, subject: &str) -> Result<(i64, String)> {
        let (head, _) = head(self.conn()?, subject)?;
        Ok((last_id(self.conn()?)?, head))
    }

    /// Walks every subject's chain, recomputing every link, then checks every stored witness: that
    /// the record it names is still there unchanged and, when `signed` is given (it knows the back
    /// end's key), its signature.
    pub fn verify(&self, signed: Option<&dyn Fn(&Witness) -> bool>) -> Result<HistoryCheck> {
        let mut stmt = self
            .conn()?
            .prepare("SELECT * FROM decisions ORDER BY id")?;
        let mut rows = stmt.query([])?;
        // Per subject: the hash the next record must link to, the count, the last id.
        let mut chains: HashMap<String, (String, i64, i64)> = HashMap::new();
        let mut count = 0u64;
        // Many records share a policy: check each stored policy text once.
        let mut policies_checked: HashSet<String> = HashSet::new();
        // Per record id: the hash a witness of it must name.
        let mut witness_hashes: HashMap<i64, String> = HashMap::new();
        let broken = |id: i64, records: u64, problem: &str| HistoryCheck {
            intact: false,
            records,
            first_broken_record: Some(id),
            problem: Some(problem.to_owned()),
            witnessed_records: 0,
            last_witnessed_record: None,
            last_witnessed_at_ms: None,
        };
        while let Some(row) = rows.next()? {
            let id: i64 = row.get("id")?;
            let d = match rows::from_row(row) {
                Ok(d) => d,
                Err(crate::error::Error::BadRecord { .. }) => {
                    return Ok(broken(id, count, "the record is unreadable"))
                }
                Err(other) => return Err(other),
            };
            let chain = chains
                .entry(d.subject.clone())
                .or_insert_with(|| (proof::GENESIS.to_owned(), 0, 0));
            if d.prev_hash != chain.0 {
                return Ok(broken(
                    id,
                    count,
                    "its link to the previous record is broken: a record before it was changed, removed or moved",
                ));
            }
            if proof::record_hash(&d) != d.record_hash {
                return Ok(broken(
                    id,
                    count,
                    "its contents do not match its hash: it was changed",
                ));
            }
            // An imported decision's policy text stayed on the device that recorded it.
            if let (Some(hash), None) = (&d.policy_hash, &d.origin_hash) {
                if !policies_checked.contains(hash) {
                    let shown: Option<String> = self
                        .conn()?
                        .query_row(
                            "SELECT canonical_json FROM policies WHERE hash = :hash",
                            named_params! {":hash": hash},
                            |r| r.get("canonical_json"),
                        )
                        .optional()?;
                    if shown.is_none_or(|text| proof::sha256_hex(text.as_bytes()) != *hash) {
                        return Ok(broken(
                            id,
                            count,
                            "the policy it was shown is missing or was changed",
                        ));
                    }
                    policies_checked.insert(hash.clone());
                }
            }
            witness_hashes.insert(id, d.witness_hash().to_owned());
            *chain = (d.record_hash, chain.1 + 1, id);
            count += 1;
        }
        let mut heads = self
            .conn()?
            .prepare("SELECT subject, head, length FROM chain")?;
        let heads: Vec<(String, String, i64)> = heads
            .query_map([], |r| {
                Ok((r.get("subject")?, r.get("head")?, r.get("length")?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (subject, head, length) in &heads {
            let (last_hash, seen, last_id) = chains
                .get(subject)
                .cloned()
                .unwrap_or_else(|| (proof::GENESIS.to_owned(), 0, 0));
            if *head != last_hash || *length != seen {
                return Ok(broken(
                    last_id + 1,
                    count,
                    "the chain head does not match the last record: records at the end were removed",
                ));
            }
        }
        if let Some((_, (_, _, first))) = chains
            .iter()
            .find(|(s, _)| !heads.iter().any(|h| h.0 == **s))
        {
            return Ok(broken(
                *first,
                count,
                "records exist for a subject whose chain is gone",
            ));
        }
        let mut stmt = self.conn()?.prepare(
            "SELECT record_hash, backend_time_ms, signature, decision_id FROM witnesses ORDER BY decision_id",
        )?;
        let witnesses: Vec<(WitnessRow, i64)> = stmt
            .query_map([], |r| Ok((WitnessRow::read(r)?, r.get("decision_id")?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut witnessed_records = 0u64;
        let mut last: Option<(i64, i64)> = None;
        for (row, decision_id) in witnesses {
            let hash = row.record_hash.clone();
            let Some(witness) = row.witness() else {
                return Ok(broken(decision_id, count, "a witness of it is unreadable"));
            };
            if witness_hashes.get(&decision_id) != Some(&hash) {
                return Ok(broken(
                    decision_id,
                    count,
                    "the back end witnessed this record, and it was changed or removed since",
                ));
            }
            let Some(signed) = signed else {
                continue;
            };
            if !signed(&witness) {
                return Ok(broken(
                    decision_id,
                    count,
                    "its witness does not verify under the back end's key: it was forged or changed",
                ));
            }
            witnessed_records += 1;
            if last.is_none_or(|(id, _)| decision_id > id) {
                last = Some((decision_id, witness.backend_time_ms));
            }
        }
        Ok(HistoryCheck {
            intact: true,
            records: count,
            first_broken_record: None,
            problem: None,
            witnessed_records,
            last_witnessed_record: last.map(|(id, _)| id),
            last_witnessed_at_ms: last.map(|(_, at)| at),
        })
    }
}

/// The newest decision id ever given (0 before the first): AUTOINCREMENT's sequence.
fn last_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decisions'), 0)",
        [],
        |r| r.get(0),
    )?)
}

/// A subject's chain head hash and length (the genesis hash and 0 when it has no record).
fn head(conn: &Connection, subject: &str) -> Result<(String, i64)> {
    let head = conn
        .query_row(
            "SELECT head, length FROM chain WHERE subject = :subject",
            named_params! {":subject": subject},
            |r| Ok((r.get("head")?, r.get("length")?)),
        )
        .optional()?;
    Ok(head.unwrap_or_else(|| (proof::GENESIS.to_owned(), 0)))
}

fn set_head(conn: &Connection, subject: &str, head: &str, length: i64) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO chain (subject, head, length) VALUES (:subject, :head, :length)",
        named_params! {":subject": subject, ":head": head, ":length": length},
    )?;
    Ok(())
}

/// Schema upgrade 1 → 2: gives the records written before the chain existed their links, in order
/// (they join it as they are: no policy hash, no versions).
pub(super) fn link_existing_records(tx: &Connection) -> Result<()> {
    let decisions = rows::select(tx, "ORDER BY id", [])?;
    let (prev, length) = schema::without_append_only(tx, AppendOnly::Update, |tx| {
        let mut prev = proof::GENESIS.to_owned();
        let mut length = 0;
        for mut d in decisions {
            d.prev_hash = prev;
            d.record_hash = proof::record_hash(&d);
            tx.execute(
                "UPDATE decisions SET prev_hash = :prev_hash, record_hash = :record_hash \
                 WHERE id = :id",
                named_params! {
                    ":prev_hash": d.prev_hash,
                    ":record_hash": d.record_hash,
                    ":id": d.id,
                },
            )?;
            prev = d.record_hash;
            length += 1;
        }
        Ok((prev, length))
    })?;
    set_head(tx, "", &prev, length)
}
