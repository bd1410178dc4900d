//! [`FileMetas`] of `--store sqlite`: table `files` in `banter.db` (a migration step of its
//! own, created by this connection when missing, as the accounts' tables are: an older Banter
//! ignores it), one row per file with its record as JSON, indexed by SHA-256 for
//! [`FileMetas::sha_used`]. Its own connection: uploads are rare next to messages; WAL and a
//! busy timeout let it write beside the message writer.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{FileMetas, FileRecord};
use crate::store::StoreError;
use crate::store::sqlite::FILE_NAME;

/// The migration step of files (v1.2, issue 19).
pub const FILES_STEP: &str = "
CREATE TABLE IF NOT EXISTS files (
    id      TEXT PRIMARY KEY,
    room    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    record  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE TABLE IF NOT EXISTS file_uses (
    room TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    id   TEXT NOT NULL,
    PRIMARY KEY (room, seq, id)
) WITHOUT ROWID;
";

/// See the module docs.
pub struct SqliteFileMetas {
    conn: Mutex<Connection>,
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!("files: {e}"))
}

fn decode(json: String) -> rusqlite::Result<FileRecord> {
    serde_json::from_str(&json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl SqliteFileMetas {
    /// Opens `banter.db` in `dir` (created if missing) and creates the table.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(failed)?;
        let conn = Connection::open(dir.join(FILE_NAME)).map_err(failed)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(failed)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA secure_delete = ON;")
            .map_err(failed)?;
        conn.execute_batch(FILES_STEP).map_err(failed)?;
        Ok(SqliteFileMetas {
            conn: Mutex::new(conn),
        })
    }

    fn run<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn).map_err(failed)
    }

    /// Reads `id`'s record, lets `change` edit it, and writes it back, in one transaction.
    /// `uses` runs first in the same transaction (the `file_uses` rows).
    fn update<T>(
        &self,
        room: &str,
        id: &str,
        uses: &str,
        seq: u64,
        change: impl FnOnce(&mut FileRecord) -> T,
    ) -> Result<Option<T>, StoreError> {
        self.run(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(uses, params![room, seq as i64, id])?;
            let found: Option<String> = tx
                .query_row(
                    "SELECT record FROM files WHERE id = ?1 AND room = ?2",
                    params![id, room],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(json) = found else {
                return Ok(None);
            };
            let mut f = decode(json)?;
            let out = change(&mut f);
            let json = serde_json::to_string(&f).unwrap_or_default();
            tx.execute(
                "UPDATE files SET record = ?2 WHERE id = ?1",
                params![id, json],
            )?;
            tx.commit()?;
            Ok(Some(out))
        })
    }
}

impl FileMetas for SqliteFileMetas {
    fn put(&self, f: &FileRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(f).map_err(failed)?;
        self.run(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO files (id, room, sha256, record) VALUES (?1, ?2, ?3, ?4)",
                params![f.id, f.room, f.sha256, json],
            )
            .map(drop)
        })
    }

    fn get(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        self.run(|conn| {
            conn.query_row("SELECT record FROM files WHERE id = ?1", params![id], |r| {
                decode(r.get(0)?)
            })
            .optional()
        })
    }

    fn attach(&self, room: &str, id: &str, seq: u64) -> Result<(), StoreError> {
        let uses = "INSERT OR IGNORE INTO file_uses (room, seq, id) \
                    SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM files WHERE id = ?3 AND room = ?1)";
        self.update(room, id, uses, seq, |f| {
            if !f.refs.contains(&seq) {
                f.refs.push(seq);
            }
        })
        .map(drop)
    }

    fn detach(&self, room: &str, id: &str, seq: u64) -> Result<Option<Vec<u64>>, StoreError> {
        let uses = "DELETE FROM file_uses WHERE room = ?1 AND seq = ?2 AND id = ?3";
        self.update(room, id, uses, seq, |f| {
            f.refs.retain(|s| *s != seq);
            f.refs.clone()
        })
    }

    fn uses(&self, room: &str, seq: u64) -> Result<Vec<String>, StoreError> {
        self.run(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT id FROM file_uses WHERE room = ?1 AND seq = ?2")?;
            let rows = stmt.query_map(params![room, seq as i64], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn remove(&self, room: &str, id: &str) -> Result<(), StoreError> {
        self.run(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM files WHERE id = ?1 AND room = ?2",
                params![id, room],
            )?;
            tx.execute(
                "DELETE FROM file_uses WHERE room = ?1 AND id = ?2",
                params![room, id],
            )?;
            tx.commit()
        })
    }

    fn sha_used(&self, sha256: &str) -> Result<bool, StoreError> {
        self.run(|conn| {
            conn.prepare_cached("SELECT 1 FROM files WHERE sha256 = ?1")?
                .exists(params![sha256])
        })
    }

    fn list(&self, after: &str, limit: usize) -> Result<Vec<FileRecord>, StoreError> {
        self.run(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT record FROM files WHERE id > ?1 ORDER BY id LIMIT ?2")?;
            let rows = stmt.query_map(params![after, limit as i64], |r| decode(r.get(0)?))?;
            rows.collect()
        })
    }
}
