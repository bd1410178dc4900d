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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use rusqlite::Connection;

use crate::store::StoreError;

/// The least time between two checkpoints.
const EVERY: Duration = Duration::from_millis(100);

/// The writer's end: nudges the checkpoint thread after commits. Dropping it stops the thread.
pub struct Checkpointer {
    nudge: SyncSender<()>,
    /// A deletion was committed: the next checkpoint is a `TRUNCATE` one, retried until it
    /// completes, so the WAL no longer holds the erased bytes (v1.2, see `lifecycle`).
    erase: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Turns off `writer`'s automatic checkpoints and starts the thread on `conn` (a read-write
    /// connection to the same database).
    pub fn start(writer: &Connection, conn: Connection) -> Result<Self, StoreError> {
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(StoreError::failed)?;
        let (nudge, rx) = sync_channel(1);
        let erase = Arc::new(AtomicBool::new(false));
        let pending = erase.clone();
        std::thread::Builder::new()
            .name("banter-checkpoint".into())
            .spawn(move || run(&conn, &rx, &pending))
            .map_err(StoreError::failed)?;
        Ok(Checkpointer { nudge, erase })
    }

    /// Something was committed: checkpoint soon (never waits).
    pub fn committed(&self) {
        // Full: a nudge is already pending. Disconnected: the thread has ended.
        let _ = self.nudge.try_send(());
    }

    /// A deletion was committed: empty the WAL at the next checkpoint (see the field).
    pub fn erase(&self) {
        self.erase.store(true, Ordering::Release);
        self.committed();
    }
}

fn run(conn: &Connection, nudges: &Receiver<()>, erase: &AtomicBool) {
    loop {
        // An erasure still pending is retried without waiting for the next commit.
        let woken = if erase.load(Ordering::Acquire) {
            nudges.recv_timeout(EVERY)
        } else {
            nudges.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        if woken == Err(RecvTimeoutError::Disconnected) {
            return;
        }
        let truncate = erase.swap(false, Ordering::AcqRel);
        let mode = if truncate { "TRUNCATE" } else { "PASSIVE" };
        let done = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        match done {
            Ok((busy, wal, copied)) => {
                tracing::trace!(mode, busy, wal, copied, "checkpoint");
                if truncate && busy != 0 {
                    erase.store(true, Ordering::Release);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                if truncate {
                    erase.store(true, Ordering::Release);
                }
            }
        }
        std::thread::sleep(EVERY); // coalesces the nudges of the commits meanwhile
    }
}
