//! Web Push's data in `banter.db` ([`PushStore`]): the tables of `schema.rs`'s `PUSH` step and
//! the VAPID key in `meta` (hex, key `vapid`). Written on a connection of its own (not the
//! message writer's: these are rare, small writes), which waits for the writer's transactions
//! through `busy_timeout`. Calls come on the blocking pool.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use banter_protocol::http::{PushSettings, PushSubscription};
use rusqlite::{Connection, OptionalExtension, params};

use super::schema::FILE_NAME;
use crate::store::{PushStore, StoreError};

/// See the module docs.
pub struct SqlitePush {
    conn: Mutex<Connection>,
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!("push settings in SQLite: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SqlitePush {
    /// Opens a connection to the database in `dir` (its writer made the tables).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(dir.join(FILE_NAME)).map_err(failed)?;
        conn.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;")
            .map_err(failed)?;
        Ok(SqlitePush {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PushStore for SqlitePush {
    fn vapid_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('vapid', ?1)",
            params![hex(fresh)],
        )
        .map_err(failed)?;
        let stored: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'vapid'", [], |r| {
                r.get(0)
            })
            .map_err(failed)?;
        unhex(&stored).ok_or_else(|| failed("the stored VAPID key is not hex"))
    }

    fn subscribe(
        &self,
        user: &str,
        sub: &PushSubscription,
        max: usize,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(sub).map_err(failed)?;
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(failed)?;
        let known: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM push_subscriptions WHERE user = ?1 AND endpoint = ?2",
                params![user, sub.endpoint],
                |r| r.get(0),
            )
            .optional()
            .map_err(failed)?;
        let held: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM push_subscriptions WHERE user = ?1",
                params![user],
                |r| r.get(0),
            )
            .map_err(failed)?;
        if known.is_none() && held as usize >= max {
            return Ok(false);
        }
        tx.execute(
            "INSERT OR REPLACE INTO push_subscriptions (user, endpoint, json) VALUES (?1, ?2, ?3)",
            params![user, sub.endpoint, json],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(true)
    }

    fn unsubscribe(&self, user: &str, endpoint: &str) -> Result<bool, StoreError> {
        let gone = self
            .conn()
            .execute(
                "DELETE FROM push_subscriptions WHERE user = ?1 AND endpoint = ?2",
                params![user, endpoint],
            )
            .map_err(failed)?;
        Ok(gone > 0)
    }

    fn subscriptions(&self, user: &str) -> Result<Vec<PushSubscription>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached("SELECT json FROM push_subscriptions WHERE user = ?1")
            .map_err(failed)?;
        let rows = st
            .query_map(params![user], |r| r.get::<_, String>(0))
            .map_err(failed)?;
        rows.map(|j| serde_json::from_str(&j.map_err(failed)?).map_err(failed))
            .collect()
    }

    fn settings(&self, user: &str) -> Result<PushSettings, StoreError> {
        let conn = self.conn();
        let off: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM push_no_previews WHERE user = ?1",
                params![user],
                |r| r.get(0),
            )
            .optional()
            .map_err(failed)?;
        let mut st = conn
            .prepare_cached("SELECT room FROM push_muted WHERE user = ?1 ORDER BY room")
            .map_err(failed)?;
        let muted = st
            .query_map(params![user], |r| r.get::<_, String>(0))
            .map_err(failed)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        Ok(PushSettings {
            previews: off.is_none(),
            muted,
        })
    }

    fn set_previews(&self, user: &str, previews: bool) -> Result<(), StoreError> {
        let sql = if previews {
            "DELETE FROM push_no_previews WHERE user = ?1"
        } else {
            "INSERT OR IGNORE INTO push_no_previews (user) VALUES (?1)"
        };
        self.conn().execute(sql, params![user]).map_err(failed)?;
        Ok(())
    }

    fn set_muted(&self, user: &str, room: &str, muted: bool) -> Result<(), StoreError> {
        let sql = if muted {
            "INSERT OR IGNORE INTO push_muted (user, room) VALUES (?1, ?2)"
        } else {
            "DELETE FROM push_muted WHERE user = ?1 AND room = ?2"
        };
        self.conn()
            .execute(sql, params![user, room])
            .map_err(failed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trips() {
        let key = [0u8, 1, 0xab, 0xff];
        assert_eq!(super::unhex(&super::hex(&key)).unwrap(), key);
        assert!(super::unhex("zz").is_none());
    }
}
