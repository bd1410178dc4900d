//! The SQLite store's completion thread: runs each append's completion after its commit, in
//! commit order, off the writer's thread.
//!
//! A completion encodes the message's frame once, publishes it to its room (the hub's fan-out)
//! and acks the sender: a third of the writer's time when the writer ran them itself. The writer
//! hands each committed batch over here and goes on with the next transaction, so one batch's
//! completions overlap the next one's writing. One thread, fed in commit order, runs the
//! completions in that order: per room in `seq` order, as [`crate::store::Store`] promises. Only
//! committed (or refused) appends ever reach this thread, so nothing is published or acked
//! before it is stored. The hand-over queue is bounded ([`QUEUE`] batches): a writer that far
//! ahead waits for the completions.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use banter_protocol::ChatMessage;

use crate::store::{AppendDone, Appended, Entry, StoreError, Stored};

/// Committed batches waiting for their completions at most.
const QUEUE: usize = 64;

/// How an append ended.
pub enum Outcome {
    /// Stored with this `seq` by the batch's commit.
    Stored(Entry),
    /// Already stored under its dedupe key: the original entry.
    Duplicate(Entry),
    /// A change that changes nothing: its target as it is (nothing stored).
    Noop(ChatMessage),
    /// Refused: nothing stored.
    Failed(StoreError),
}

/// A batch's completions, in `seq` order per room.
pub type Batch = Vec<(AppendDone, Outcome)>;

/// The writer's end of the completion thread.
pub struct Completions {
    tx: SyncSender<Batch>,
    epoch: Arc<str>,
}

impl Completions {
    /// Starts the thread.
    pub fn start(epoch: Arc<str>) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE);
        let thread_epoch = epoch.clone();
        std::thread::Builder::new()
            .name("banter-store-done".into())
            .spawn(move || run(rx, &thread_epoch))?;
        Ok(Completions { tx, epoch })
    }

    /// Hands a committed batch over (waits while [`QUEUE`] batches are pending). If the thread
    /// is gone, completes the batch here.
    pub fn send(&self, batch: Batch) {
        if let Err(e) = self.tx.send(batch) {
            complete(e.0, &self.epoch);
        }
    }
}

fn run(rx: Receiver<Batch>, epoch: &Arc<str>) {
    while let Ok(batch) = rx.recv() {
        complete(batch, epoch);
    }
}

fn complete(batch: Batch, epoch: &Arc<str>) {
    for (done, outcome) in batch {
        done(match outcome {
            Outcome::Stored(e) => Ok(appended(e, epoch, false)),
            Outcome::Duplicate(e) => Ok(appended(e, epoch, true)),
            Outcome::Noop(m) => Ok(Appended {
                noop: true,
                ..appended(m.into(), epoch, false)
            }),
            Outcome::Failed(e) => Err(e),
        });
    }
}

fn appended(e: Entry, epoch: &Arc<str>, duplicate: bool) -> Appended {
    Appended {
        stored: Stored::new(e),
        epoch: epoch.clone(),
        duplicate,
        noop: false,
    }
}
