//! Decision rows: written and read by column name, from the record's one list of fields
//! ([`Decision::fields`], [`Decision::read`]); and what a row names or waits for (the policy text
//! shown, the outbox).

use rusqlite::types::{ToSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::schema::{self, AppendOnly};
use super::Store;
use crate::error::{Error, Result};
use crate::policy::MAX_POLICY_BYTES;
use crate::record::{Cell, Decision, Fields};

/// Each kind of field as a column holds it.
impl ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        fn text(t: &str) -> ToSqlOutput<'_> {
            ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes()))
        }
        Ok(match *self {
            Cell::Int(i) => ToSqlOutput::Owned(Value::Integer(i)),
            Cell::Text(t) | Cell::Status(Some(t)) | Cell::Maybe(Some(t)) => text(t),
            Cell::Maybe(None) => ToSqlOutput::Owned(Value::Null),
            Cell::Status(None) => text(""),
            Cell::Grant(granted) => ToSqlOutput::Owned(Value::Integer(granted.into())),
            Cell::Ids(ids) => ToSqlOutput::Owned(Value::Text(
                serde_json::to_string(ids)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
            )),
        })
    }
}

/// Why a row could not be read: SQLite's error, or a value that is no record's.
pub enum Unreadable {
    Sql(rusqlite::Error),
    Bad(String),
}

impl From<String> for Unreadable {
    fn from(reason: String) -> Self {
        Unreadable::Bad(reason)
    }
}

impl From<rusqlite::Error> for Unreadable {
    fn from(error: rusqlite::Error) -> Self {
        Unreadable::Sql(error)
    }
}

/// A row of `decisions` as the fields of a record: each by its column's name.
impl Fields for Row<'_> {
    type Error = Unreadable;

    fn int(&self, name: &'static str) -> Result<i64, Unreadable> {
        Ok(self.get(name)?)
    }

    fn text(&self, name: &'static str) -> Result<String, Unreadable> {
        Ok(self.get(name)?)
    }

    fn maybe(&self, name: &'static str) -> Result<Option<String>, Unreadable> {
        Ok(self.get(name)?)
    }

    fn status(&self, name: &'static str) -> Result<Option<String>, Unreadable> {
        let status: String = self.get(name)?;
        Ok((!status.is_empty()).then_some(status))
    }

    fn grant(&self, name: &'static str) -> Result<bool, Unreadable> {
        Ok(self.get(name)?)
    }

    fn ids(&self, name: &'static str) -> Result<Vec<String>, Unreadable> {
        let list: String = self.get(name)?;
        serde_json::from_str(&list)
            .map_err(|e| Unreadable::Bad(format!("{name} is not a JSON list of ids: {e}")))
    }
}

/// The decision a row holds, checked as it is read.
pub(super) fn from_row(row: &Row<'_>) -> Result<Decision> {
    Decision::read(row).map_err(|unreadable| match unreadable {
        Unreadable::Sql(error) => Error::Sql(error),
        Unreadable::Bad(reason) => Error::BadRecord {
            id: row.get("id").unwrap_or_default(),
            reason,
        },
    })
}

/// Writes a decision as it is, one column a field, each parameter named after its column.
pub(super) fn insert(conn: &Connection, d: &Decision) -> Result<()> {
    let fields = d.fields();
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "INSERT INTO decisions ({}) VALUES (:{})",
        names.join(", "),
        names.join(", :")
    );
    let parameters: Vec<String> = names.iter().map(|name| format!(":{name}")).collect();
    let named: Vec<(&str, &dyn ToSql)> = parameters
        .iter()
        .zip(&fields)
        .map(|(parameter, (_, cell))| (parameter.as_str(), cell as &dyn ToSql))
        .collect();
    conn.prepare_cached(&sql)?.execute(named.as_slice())?;
    Ok(())
}

/// The decisions a clause selects (`WHERE … ORDER BY … LIMIT …`), each checked as it is read.
pub(super) fn select(
    conn: &Connection,
    clause: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Decision>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM decisions {clause}"))?;
    let mut rows = stmt.query(params)?;
    let mut decisions = Vec::new();
    while let Some(row) = rows.next()? {
        decisions.push(from_row(row)?);
    }
    Ok(decisions)
}

impl Store {
    /// The subject's most recent decision. One index lookup: opening does not grow with history.
    pub fn latest_decision(&self, subject: &str) -> Result<Option<Decision>> {
        let found = select(
            self.conn()?,
            "WHERE subject = :subject ORDER BY id DESC LIMIT 1",
            &[(":subject", subject)],
        )?;
        Ok(found.into_iter().next())
    }

    /// The subject's decisions, oldest first.
    pub fn history(&self, subject: &str) -> Result<Vec<Decision>> {
        select(
            self.conn()?,
            "WHERE subject = :subject ORDER BY id",
            &[(":subject", subject)],
        )
    }

    /// Whether a decision imported from this remote record hash is already here.
    pub fn has_imported(&self, origin_hash: &str) -> Result<bool> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT 1 FROM decisions WHERE origin_hash = :origin_hash",
                &[(":origin_hash", origin_hash)],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Up to `limit` decisions the back end has not acknowledged, oldest first.
    pub fn pending(&self, limit: u32) -> Result<Vec<Decision>> {
        select(
            self.conn()?,
            "WHERE id IN (SELECT decision_id FROM outbox) ORDER BY id LIMIT :limit",
            &[(":limit", &limit)],
        )
    }

    /// Removes delivered decisions from the outbox; unknown ids are ignored.
    pub fn acknowledge(&mut self, ids: &[i64]) -> Result<()> {
        self.write(|tx| {
            let mut delete = tx.prepare("DELETE FROM outbox WHERE decision_id = :id")?;
            for id in ids {
                delete.execute(&[(":id", id)])?;
            }
            Ok(())
        })
    }

    /// Erasure: deletes the subject's decisions, outbox entries, witnesses, chain and time marks in
    /// one transaction.
    pub fn erase(&mut self, subject: &str) -> Result<()> {
        self.write(|tx| {
            schema::without_append_only(tx, AppendOnly::Delete, |tx| {
                tx.execute(
                    "DELETE FROM outbox WHERE decision_id IN \
                     (SELECT id FROM decisions WHERE subject = :subject)",
                    &[(":subject", subject)],
                )?;
                for table in ["witnesses", "decisions", "chain", "time_marks"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE subject = :subject"),
                        &[(":subject", subject)],
                    )?;
                }
                Ok(())
            })
        })
    }

    /// The canonical JSON of a policy shown, by hash; `None` when it is not here or is larger than a
    /// policy may be (a damaged or hostile file is not read into memory).
    pub fn policy_text(&self, hash: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT canonical_json FROM policies WHERE hash = ?1 AND length(canonical_json) <= ?2",
                params![hash, MAX_POLICY_BYTES as i64],
                |r| r.get("canonical_json"),
            )
            .optional()?)
    }

    /// Every policy text stored under `policy_id`, as (hash, canonical JSON), highest revision first.
    pub fn policy_texts(&self, policy_id: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn()?.prepare(
            "SELECT hash, canonical_json FROM policies WHERE policy_id = ?1 \
             AND length(canonical_json) <= ?2 ORDER BY revision DESC",
        )?;
        let rows = stmt.query_map(params![policy_id, MAX_POLICY_BYTES as i64], |r| {
            Ok((r.get("hash")?, r.get("canonical_json")?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
