//! Read positions in SQLite: the `read_positions` table (see `schema`), read on a pooled
//! reader and written by the one writer thread, each batch in its own short transaction
//! between the message batches (so a position never waits for, or delays, a message's commit).

use std::sync::mpsc::TrySendError;

use rusqlite::{Connection, params};

use super::SqliteStore;
use super::writer::Request;
use crate::store::{Position, Positions, PositionsDone, StoreError};

impl Positions for SqliteStore {
    fn positions(&self, user: &str) -> Result<Vec<(String, u64)>, StoreError> {
        self.with_reader(|conn| {
            conn.prepare_cached("SELECT room, seq FROM read_positions WHERE user = ?1")?
                .query_map(params![user], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
                })?
                .collect()
        })
    }

    fn save_positions(&self, batch: Vec<Position>, done: PositionsDone) {
        match self.tx.try_send(Request::Positions(batch, done)) {
            Ok(()) => {}
            Err(TrySendError::Full(Request::Positions(_, done))) => done(Err(StoreError::Busy)),
            Err(TrySendError::Disconnected(Request::Positions(_, done))) => {
                done(Err(StoreError::failed("the store's writer has stopped")));
            }
            Err(_) => {}
        }
    }
}

/// Writes `batch` in one transaction, each position only if it is ahead of the stored one.
pub fn save(conn: &mut Connection, batch: &[Position]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for p in batch {
        tx.prepare_cached(
            "INSERT INTO read_positions (user, room, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (user, room) DO UPDATE SET seq = max(seq, excluded.seq)",
        )?
        .execute(params![&*p.user, p.room, p.seq.min(i64::MAX as u64) as i64])?;
    }
    tx.commit()
}
