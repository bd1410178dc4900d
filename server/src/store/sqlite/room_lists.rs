//! Users' room lists in SQLite: the `user_rooms` table (see `schema`), read on a pooled reader
//! and written by the one writer thread between message batches, each change in its own short
//! transaction (so it never waits for, or delays, a message's commit).

use std::sync::mpsc;

use rusqlite::{Connection, params};

use super::SqliteStore;
use super::writer::Request;
use crate::store::{RoomLists, StoreError};

impl RoomLists for SqliteStore {
    fn rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        self.with_reader(|conn| {
            conn.prepare_cached("SELECT room FROM user_rooms WHERE user = ?1 ORDER BY at, room")?
                .query_map(params![user], |r| r.get(0))?
                .collect()
        })
    }

    fn set_room(&self, user: &str, room: &str, on: bool) -> Result<(), StoreError> {
        let (user, room) = (user.to_owned(), room.to_owned());
        let (tx, rx) = mpsc::channel();
        let job = Box::new(move |conn: &mut Connection| {
            let _ = tx.send(write(conn, &user, &room, on));
        });
        match self.tx.try_send(Request::Run(job)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => return Err(StoreError::Busy),
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(StoreError::failed("the store's writer has stopped"));
            }
        }
        rx.recv()
            .map_err(|_| StoreError::failed("the store's writer has stopped"))?
            .map_err(|e| {
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
                    StoreError::Full
                } else {
                    StoreError::failed(e)
                }
            })
    }
}

/// Puts `room` at the end of `user`'s list, or takes it off.
fn write(conn: &mut Connection, user: &str, room: &str, on: bool) -> rusqlite::Result<()> {
    if on {
        conn.prepare_cached(
            "INSERT INTO user_rooms (user, room, at)
             SELECT ?1, ?2, coalesce(max(at), 0) + 1 FROM user_rooms WHERE user = ?1
             ON CONFLICT (user, room) DO NOTHING",
        )?
        .execute(params![user, room])?;
    } else {
        conn.prepare_cached("DELETE FROM user_rooms WHERE user = ?1 AND room = ?2")?
            .execute(params![user, room])?;
    }
    Ok(())
}
