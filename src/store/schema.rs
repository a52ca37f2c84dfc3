//! The schema: the current tables as one SQL text (`schema.sql`), its version, and the append-only
//! triggers that the SDK's own erasure and the chaining upgrade lift for a moment.

use rusqlite::Connection;

use crate::error::Result;

/// The schema version this SDK writes (`PRAGMA user_version`).
pub const VERSION: i64 = 3;

/// The current tables: what a fresh store is created with.
pub const CURRENT: &str = include_str!("schema.sql");

/// The operations the append-only triggers forbid on `decisions`.
#[derive(Debug, Clone, Copy)]
pub enum AppendOnly {
    Update,
    Delete,
}

impl AppendOnly {
    /// The trigger as the schema creates it.
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

#[cfg(test)]
mod tests {
    use super::{AppendOnly, CURRENT};

    #[test]
    fn the_triggers_put_back_are_the_schemas_own() {
        for op in [AppendOnly::Update, AppendOnly::Delete] {
            assert!(CURRENT.contains(op.trigger()), "{op:?}");
        }
    }

    #[test]
    fn the_decisions_table_has_a_column_for_each_field_of_the_record_and_no_other() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(CURRENT).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('decisions')")
            .unwrap();
        let mut columns: Vec<String> = stmt
            .query_map([], |r| r.get("name"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let d = crate::record::Decision::example();
        let mut fields: Vec<&str> = d.fields().iter().map(|(name, _)| *name).collect();
        columns.sort_unstable();
        fields.sort_unstable();
        assert_eq!(columns, fields);
    }
}
