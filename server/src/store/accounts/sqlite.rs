//! The account store of `--store sqlite`: tables `users` and `invites` in `banter.db`, created
//! by this connection when missing (an older Banter ignores them: it has no accounts). The
//! server and `banter user ...` each open one; WAL and a busy timeout let them write side by
//! side.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use banter_protocol::UserRole;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{AccountStore, Invite, SignupOutcome, UserChange, UserRecord, check_invite};
use crate::store::StoreError;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    hash        TEXT NOT NULL,
    role        TEXT NOT NULL,
    disabled    INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    valid_after INTEGER NOT NULL,
    rev         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_rev ON users (rev);
CREATE TABLE IF NOT EXISTS invites (
    code       TEXT PRIMARY KEY,
    expires    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    used_by    TEXT,
    revoked    INTEGER NOT NULL
);
";

const USER_COLUMNS: &str = "name, hash, role, disabled, generation, valid_after, rev";

/// See the module docs.
pub struct SqliteAccounts {
    conn: Mutex<Connection>,
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!("accounts: {e}"))
}

fn role_name(role: UserRole) -> &'static str {
    match role {
        UserRole::Admin => "admin",
        UserRole::Member => "member",
    }
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let role: String = r.get(2)?;
    Ok(UserRecord {
        name: r.get(0)?,
        hash: r.get(1)?,
        role: if role == "admin" {
            UserRole::Admin
        } else {
            UserRole::Member
        },
        disabled: r.get(3)?,
        generation: r.get::<_, i64>(4)? as u64,
        valid_after: r.get::<_, i64>(5)? as u64,
        rev: r.get::<_, i64>(6)? as u64,
    })
}

fn invite_row(r: &Row<'_>) -> rusqlite::Result<Invite> {
    Ok(Invite {
        code: r.get(0)?,
        expires: r.get::<_, i64>(1)? as u64,
        created_by: r.get(2)?,
        used_by: r.get(3)?,
        revoked: r.get(4)?,
    })
}

fn next_rev(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(rev), 0) + 1 FROM users", [], |r| {
        r.get(0)
    })
}

fn insert_user(conn: &Connection, rec: &UserRecord) -> rusqlite::Result<bool> {
    let rev = next_rev(conn)?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO users (name, hash, role, disabled, generation, valid_after, rev) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            rec.name,
            rec.hash,
            role_name(rec.role),
            rec.disabled,
            rec.generation as i64,
            rec.valid_after as i64,
            rev
        ],
    )?;
    Ok(n == 1)
}

fn get_user(conn: &Connection, name: &str) -> rusqlite::Result<Option<UserRecord>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
        params![name],
        user_row,
    )
    .optional()
}

impl SqliteAccounts {
    /// Opens (creating when needed) `banter.db` in `dir` and its account tables.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(failed)?;
        let conn = Connection::open(dir.join(crate::store::sqlite::FILE_NAME)).map_err(failed)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(failed)?;
        let _: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(failed)?;
        conn.execute_batch(TABLES).map_err(failed)?;
        Ok(SqliteAccounts {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one write transaction (taken at once, so two writers queue, not fail).
    fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let out = f(&tx).map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(out)
    }
}

impl AccountStore for SqliteAccounts {
    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        get_user(&self.lock(), name).map_err(failed)
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .map_err(failed)?;
        let rows = stmt.query_map([], user_row).map_err(failed)?;
        rows.collect::<rusqlite::Result<_>>().map_err(failed)
    }

    fn add_user(&self, rec: UserRecord) -> Result<bool, StoreError> {
        self.write(|c| insert_user(c, &rec))
    }

    fn change_user(
        &self,
        name: &str,
        change: &UserChange,
        now: u64,
    ) -> Result<Option<UserRecord>, StoreError> {
        self.write(|c| {
            let Some(mut rec) = get_user(c, name)? else {
                return Ok(None);
            };
            change.apply(&mut rec, now);
            rec.rev = next_rev(c)? as u64;
            c.execute(
                "UPDATE users SET hash = ?2, role = ?3, disabled = ?4, generation = ?5, \
                 valid_after = ?6, rev = ?7 WHERE name = ?1",
                params![
                    rec.name,
                    rec.hash,
                    role_name(rec.role),
                    rec.disabled,
                    rec.generation as i64,
                    rec.valid_after as i64,
                    rec.rev as i64
                ],
            )?;
            Ok(Some(rec))
        })
    }

    fn signup(&self, code: &str, rec: UserRecord, now: u64) -> Result<SignupOutcome, StoreError> {
        self.write(|c| {
            let invite = c
                .query_row(
                    "SELECT code, expires, created_by, used_by, revoked FROM invites \
                     WHERE code = ?1",
                    params![code],
                    invite_row,
                )
                .optional()?;
            if let Err(refused) = check_invite(invite.as_ref(), now) {
                return Ok(refused);
            }
            if !insert_user(c, &rec)? {
                return Ok(SignupOutcome::NameTaken);
            }
            c.execute(
                "UPDATE invites SET used_by = ?2 WHERE code = ?1",
                params![code, rec.name],
            )?;
            Ok(SignupOutcome::Created)
        })
    }

    fn add_invite(&self, i: Invite) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT OR REPLACE INTO invites (code, expires, created_by, used_by, revoked) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![i.code, i.expires as i64, i.created_by, i.used_by, i.revoked],
            )
            .map(drop)
        })
    }

    fn invites(&self) -> Result<Vec<Invite>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT code, expires, created_by, used_by, revoked FROM invites \
                 ORDER BY expires DESC",
            )
            .map_err(failed)?;
        let rows = stmt.query_map([], invite_row).map_err(failed)?;
        rows.collect::<rusqlite::Result<_>>().map_err(failed)
    }

    fn revoke_invite(&self, code: &str) -> Result<bool, StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE invites SET revoked = 1 WHERE code = ?1",
                params![code],
            )
            .map(|n| n == 1)
        })
    }

    fn changes(&self, rev: u64) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE rev > ?1 ORDER BY rev"
            ))
            .map_err(failed)?;
        let rows = stmt
            .query_map(params![rev as i64], user_row)
            .map_err(failed)?;
        rows.collect::<rusqlite::Result<_>>().map_err(failed)
    }
}
