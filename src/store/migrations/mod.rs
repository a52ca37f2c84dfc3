//! From the schema a file has (`PRAGMA user_version`) to [`schema::VERSION`], in one transaction:
//! an empty file gets the current tables ([`schema::CURRENT`]) at once; an older store runs each
//! step after its version, in order. Each step is frozen (a release wrote stores in its schema) and
//! is tested from a store of the version before (`tests/fixtures/schema-v1.sql`, `schema-v2.sql`),
//! which must come out as what a fresh store is.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{chain, schema};
use crate::error::{Error, Result};

/// One upgrade: the SQL that takes a store to version `to` from the one before, and what must
/// follow it in code.
struct Step {
    to: i64,
    sql: &'static str,
    then: Option<fn(&Connection) -> Result<()>>,
}

const STEPS: [Step; 2] = [
    Step {
        to: 2,
        sql: include_str!("0002_proof_profiles_sync.sql"),
        // The records of version 1 join the chain as they are.
        then: Some(chain::link_existing_records),
    },
    Step {
        to: 3,
        sql: include_str!("0003_witnesses_time_marks.sql"),
        then: None,
    },
];

/// Brings the schema to [`schema::VERSION`] in one transaction.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let in_path = |e| Error::open(path, e);
    // The usual case takes no write lock: opening must not wait for another process's write.
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(in_path)?;
    if current == schema::VERSION {
        return Ok(());
    }
    // Re-read under the write lock: another process may have migrated meanwhile.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(in_path)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(in_path)?;
    match version {
        v if v == schema::VERSION => return Ok(()),
        0 => tx.execute_batch(schema::CURRENT)?,
        v if v > schema::VERSION => {
            return Err(Error::SchemaTooNew {
                path: path.to_path_buf(),
                found: v,
                supported: schema::VERSION,
            })
        }
        v if v < 1 => return Err(Error::SchemaUnknown(v)),
        v => {
            for step in STEPS.iter().filter(|s| s.to > v) {
                tx.execute_batch(step.sql)?;
                if let Some(then) = step.then {
                    then(&tx)?;
                }
            }
        }
    }
    tx.pragma_update(None, "user_version", schema::VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{schema, STEPS};

    #[test]
    fn there_is_one_step_to_each_version_after_the_first_up_to_the_current_one() {
        let versions: Vec<i64> = STEPS.iter().map(|s| s.to).collect();
        assert_eq!(versions, (2..=schema::VERSION).collect::<Vec<_>>());
    }
}
