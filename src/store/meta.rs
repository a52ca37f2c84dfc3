//! The store's small values: `meta` (its random id, the page key, the pages closed without a
//! decision, the clock mark of older schemas) and each subject's `time_marks`.

use rusqlite::{named_params, Connection, OptionalExtension};

use super::Store;
use crate::error::Result;
use crate::random;
use crate::record::TimeMarks;

const STORE_ID_KEY: &str = "store_id";
const CLOSED_PAGES_KEY: &str = "pages_closed";
/// Written by schema versions 1 and 2: the latest time acted on. Read once to set the time marks.
const LEGACY_CLOCK_MARK_KEY: &str = "clock_mark_ms";
/// Written by the upgrade to version 3: the newest decision the legacy mark speaks of.
const LEGACY_CLOCK_MARK_THROUGH_KEY: &str = "clock_mark_through_id";

/// A value of `meta`, if it is there.
fn get(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = :key",
            named_params! {":key": key},
            |r| r.get("value"),
        )
        .optional()?)
}

/// Sets a value of `meta` unless another writer got there first.
fn insert_if_absent(conn: &Connection, key: &str, value: i64) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (:key, :value)",
        named_params! {":key": key, ":value": value},
    )?;
    Ok(())
}

impl Store {
    /// How many consent pages were closed without a decision.
    pub fn closed_pages(&self) -> Result<i64> {
        Ok(get(self.conn()?, CLOSED_PAGES_KEY)?.unwrap_or(0))
    }

    /// Counts one more consent page closed without a decision.
    pub fn close_page(&mut self) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (:key, 1) \
                 ON CONFLICT (key) DO UPDATE SET value = value + 1",
                named_params! {":key": CLOSED_PAGES_KEY},
            )?;
            Ok(())
        })
    }

    /// This store's random id, if it has one yet.
    pub(super) fn store_id(&self) -> Result<Option<i64>> {
        get(self.conn()?, STORE_ID_KEY)
    }

    /// Gives the store a random id unless it has one (another process may be giving it one at the
    /// same moment: both end with the one stored first), and returns it.
    pub(super) fn give_store_id(&mut self) -> Result<i64> {
        if let Some(id) = self.store_id()? {
            return Ok(id);
        }
        let id = i64::from_le_bytes(random::bytes::<8>()?);
        insert_if_absent(self.conn()?, STORE_ID_KEY, id)?;
        Ok(self.store_id()?.unwrap_or(id))
    }

    /// The time mark older schemas kept, and the newest decision id it speaks of.
    pub(super) fn legacy_clock_mark(&self) -> Result<Option<(i64, i64)>> {
        let Some(mark) = get(self.conn()?, LEGACY_CLOCK_MARK_KEY)? else {
            return Ok(None);
        };
        let through = get(self.conn()?, LEGACY_CLOCK_MARK_THROUGH_KEY)?;
        Ok(Some((mark, through.unwrap_or(0))))
    }

    /// The secret that signs this store's consent-page tokens: 32 random bytes kept in `meta` as four
    /// integers (`ui_key.0` to `ui_key.3`), created on first use; two processes creating it at once
    /// agree on one.
    pub(crate) fn ui_key(&mut self) -> Result<[u8; 32]> {
        if let Some(key) = self.read_ui_key()? {
            return Ok(key);
        }
        let fresh = random::bytes::<32>()?;
        self.write(|tx| {
            for (i, chunk) in fresh.chunks_exact(8).enumerate() {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                insert_if_absent(tx, &format!("ui_key.{i}"), i64::from_le_bytes(word))?;
            }
            Ok(())
        })?;
        self.read_ui_key()?
            .ok_or_else(|| self.io_error("the page key was not stored"))
    }

    fn read_ui_key(&self) -> Result<Option<[u8; 32]>> {
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_exact_mut(8).enumerate() {
            match get(self.conn()?, &format!("ui_key.{i}"))? {
                Some(word) => chunk.copy_from_slice(&word.to_le_bytes()),
                None => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// What moving the clock back must not undo for `subject` (0 for a mark never raised).
    pub fn marks(&self, subject: &str) -> Result<TimeMarks> {
        let marks = self
            .conn()?
            .query_row(
                "SELECT expired_through_id, reminded_through_id FROM time_marks \
                 WHERE subject = :subject",
                named_params! {":subject": subject},
                |r| {
                    Ok(TimeMarks {
                        expired_through_id: r.get("expired_through_id")?,
                        reminded_through_id: r.get("reminded_through_id")?,
                    })
                },
            )
            .optional()?;
        Ok(marks.unwrap_or_default())
    }

    /// Raises `subject`'s marks to `marks` (never lowers one).
    pub fn raise_marks(&mut self, subject: &str, marks: TimeMarks) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO time_marks (subject, expired_through_id, reminded_through_id) \
                 VALUES (:subject, :expired, :reminded) ON CONFLICT (subject) DO UPDATE SET \
                 expired_through_id = max(expired_through_id, excluded.expired_through_id), \
                 reminded_through_id = max(reminded_through_id, excluded.reminded_through_id)",
                named_params! {
                    ":subject": subject,
                    ":expired": marks.expired_through_id,
                    ":reminded": marks.reminded_through_id,
                },
            )?;
            Ok(())
        })
    }
}
