//! WAL checkpoints on their own thread, off the writer's.
//!
//! In WAL mode every commit appends to the `-wal` file; a checkpoint copies those pages back into
//! the database file so the WAL can start over. SQLite runs it by default inside the commit that
//! crosses 1,000 pages, on the writer's thread: an eighth of the writer's time under load
//! (measured). Here the writer's automatic checkpoint is off and this thread, on its own
//! connection, runs a `PASSIVE` checkpoint (it never blocks the writer or readers) after commits,
//! at most every [`EVERY`], so the WAL stays a few MB. What an ack means does not change: a
//! commit is durable once its WAL frames are written and (with `--sqlite-sync full`) fsynced,
//! before any checkpoint; the checkpoint's own writes are synced as `--sqlite-sync` says.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use rusqlite::Connection;

use crate::store::StoreError;

/// The least time between two checkpoints.
const EVERY: Duration = Duration::from_millis(100);

/// The writer's end: nudges the checkpoint thread after commits. Dropping it stops the thread.
pub struct Checkpointer {
    nudge: SyncSender<()>,
}

impl Checkpointer {
    /// Turns off `writer`'s automatic checkpoints and starts the thread on `conn` (a read-write
    /// connection to the same database).
    pub fn start(writer: &Connection, conn: Connection) -> Result<Self, StoreError> {
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(StoreError::failed)?;
        let (nudge, rx) = sync_channel(1);
        std::thread::Builder::new()
            .name("banter-checkpoint".into())
            .spawn(move || run(&conn, &rx))
            .map_err(StoreError::failed)?;
        Ok(Checkpointer { nudge })
    }

    /// Something was committed: checkpoint soon (never waits).
    pub fn committed(&self) {
        // Full: a nudge is already pending. Disconnected: the thread has ended.
        let _ = self.nudge.try_send(());
    }
}

fn run(conn: &Connection, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match done {
            Ok((wal, copied)) => tracing::trace!(wal, copied, "checkpoint"),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
        }
        std::thread::sleep(EVERY); // coalesces the nudges of the commits meanwhile
    }
}
