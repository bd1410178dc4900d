//! The SQLite store's [`RoomMembers`]: tables `room_access` (a created room: private or not)
//! and `room_members` (a user's standing in a room), made by schema step 4
//! (`schema::members_step`). They are written on a connection of their own (moderation is rare:
//! WAL and the busy timeout let it write beside the writer thread) and read on it too.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use banter_protocol::RoomRole;
use rusqlite::{Connection, OptionalExtension, params};

use super::schema;
use crate::store::StoreError;
use crate::store::members::{RoomAccess, RoomMembers, Standing};

/// See the module docs.
pub struct SqliteMembers {
    conn: Mutex<Connection>,
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!("room members: {e}"))
}

fn role_code(r: Option<RoomRole>) -> Option<i64> {
    r.map(|r| match r {
        RoomRole::Member => 1,
        RoomRole::Moderator => 2,
        RoomRole::Owner => 3,
    })
}

fn role_of(code: Option<i64>) -> Option<RoomRole> {
    match code? {
        1 => Some(RoomRole::Member),
        2 => Some(RoomRole::Moderator),
        3 => Some(RoomRole::Owner),
        _ => None,
    }
}

impl SqliteMembers {
    /// Opens its connection to the database in `dir` (the writer made the tables).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let conn = schema::open_side(dir)?;
        Ok(SqliteMembers {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn).map_err(failed)
    }
}

impl RoomMembers for SqliteMembers {
    fn access(&self, room: &str) -> Result<RoomAccess, StoreError> {
        self.with(|c| {
            let private: Option<i64> = c
                .prepare_cached("SELECT private FROM room_access WHERE room = ?1")?
                .query_row(params![room], |r| r.get(0))
                .optional()?;
            let mut a = RoomAccess {
                private: private == Some(1),
                created: private.is_some(),
                ..RoomAccess::default()
            };
            let mut stmt = c.prepare_cached(
                "SELECT user, role, muted, banned FROM room_members WHERE room = ?1",
            )?;
            let rows = stmt.query_map(params![room], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Standing {
                        role: role_of(r.get(1)?),
                        muted: r.get::<_, i64>(2)? != 0,
                        banned: r.get::<_, i64>(3)? != 0,
                    },
                ))
            })?;
            for row in rows {
                let (user, s) = row?;
                a.users.insert(user, s);
            }
            Ok(a)
        })
    }

    fn create(&self, room: &str, private: bool) -> Result<bool, StoreError> {
        self.with(|c| {
            let n = c
                .prepare_cached(
                    "INSERT OR IGNORE INTO room_access (room, private, ts) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![
                    room,
                    i64::from(private),
                    crate::store::now_ms() as i64
                ])?;
            Ok(n == 1)
        })
    }

    fn set_private(&self, room: &str, private: bool) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO room_access (room, private, ts) VALUES (?1, ?2, ?3)
                 ON CONFLICT (room) DO UPDATE SET private = excluded.private",
            )?
            .execute(params![
                room,
                i64::from(private),
                crate::store::now_ms() as i64
            ])?;
            Ok(())
        })
    }

    fn set_standing(&self, room: &str, user: &str, s: Standing) -> Result<(), StoreError> {
        self.with(|c| {
            if s.is_none() {
                c.prepare_cached("DELETE FROM room_members WHERE room = ?1 AND user = ?2")?
                    .execute(params![room, user])?;
                return Ok(());
            }
            c.prepare_cached(
                "INSERT INTO room_members (room, user, role, muted, banned)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (room, user) DO UPDATE SET
                   role = excluded.role, muted = excluded.muted, banned = excluded.banned",
            )?
            .execute(params![
                room,
                user,
                role_code(s.role),
                i64::from(s.muted),
                i64::from(s.banned)
            ])?;
            Ok(())
        })
    }

    fn hidden_from(&self, user: &str) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT room FROM room_access WHERE private = 1 AND room NOT IN
                   (SELECT room FROM room_members WHERE user = ?1 AND role IS NOT NULL)
                 UNION
                 SELECT room FROM room_members WHERE user = ?1 AND banned = 1",
            )?
            .query_map(params![user], |r| r.get(0))?
            .collect()
        })
    }

    fn private_rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "SELECT m.room FROM room_members m JOIN room_access a ON a.room = m.room
                 WHERE m.user = ?1 AND m.role IS NOT NULL AND a.private = 1 ORDER BY m.room",
            )?
            .query_map(params![user], |r| r.get(0))?
            .collect()
        })
    }
}
