//! Store reads for WebSocket joins and replays, bounded in flight: at most `--replay-reads` at
//! once on this node and `--replay-reads-per-room` at once for one room, so a crowd resuming
//! one room (or many clients asking for old history at once) queues instead of taking every
//! reader and all the memory. Joins that would wait behind more than `--replay-queue` others are
//! refused with `unavailable` (retry); a replay already under way always waits its turn.
//!
//! A [`ReadPass`] is held only for the read itself (on tokio's blocking pool), never while the
//! client is being written to: a client that does not read holds no pass.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits of a [`ReadGate`].
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Reads at once on this node (`--replay-reads`).
    pub node: usize,
    /// Reads at once for one room (`--replay-reads-per-room`).
    pub per_room: usize,
    /// Joins waiting for a read at most (`--replay-queue`); more are refused.
    pub queue: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            node: 8,
            per_room: 2,
            queue: 10_000,
        }
    }
}

/// See the module docs.
pub struct ReadGate {
    limits: ReadLimits,
    node: Arc<Semaphore>,
    /// Rooms with a read in flight or waiting; an entry goes when its last pass does.
    rooms: Mutex<HashMap<Arc<str>, Arc<Semaphore>>>,
    waiting: AtomicUsize,
}

/// Too many joins are waiting for a store read: refuse with `unavailable`.
#[derive(Debug)]
pub struct Busy;

/// Leave to read the store for one room; dropping it lets the next one in.
pub struct ReadPass<'a> {
    gate: &'a ReadGate,
    room: Arc<str>,
    room_sem: Arc<Semaphore>,
    permits: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
}

/// Uncounts a waiter when its wait ends (or is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ReadGate {
    pub fn new(limits: ReadLimits) -> Self {
        ReadGate {
            node: Arc::new(Semaphore::new(limits.node.max(1))),
            rooms: Mutex::default(),
            waiting: AtomicUsize::new(0),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<Semaphore>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for leave to read `room`. A new join (`admit`) is refused when too many already
    /// wait; a replay under way (`!admit`) always waits.
    pub async fn enter(&self, room: &str, admit: bool) -> Result<ReadPass<'_>, Busy> {
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if admit && waiting >= self.limits.queue {
            return Err(Busy);
        }
        let (room, room_sem) = self.room(room);
        // Dropping the pass on an error path removes the room's entry if it was the last.
        let mut pass = ReadPass {
            gate: self,
            room,
            room_sem,
            permits: None,
        };
        let (Ok(r), Ok(n)) = (
            pass.room_sem.clone().acquire_owned().await,
            self.node.clone().acquire_owned().await,
        ) else {
            return Err(Busy); // never closed
        };
        pass.permits = Some((r, n));
        Ok(pass)
    }

    /// The room's entry (its semaphore), made when missing.
    fn room(&self, room: &str) -> (Arc<str>, Arc<Semaphore>) {
        let mut rooms = self.lock();
        if let Some((k, v)) = rooms.get_key_value(room) {
            return (k.clone(), v.clone());
        }
        let k: Arc<str> = room.into();
        let v = Arc::new(Semaphore::new(self.limits.per_room.max(1)));
        rooms.insert(k.clone(), v.clone());
        (k, v)
    }

    /// Joins and replays waiting for a read now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

impl Drop for ReadPass<'_> {
    fn drop(&mut self) {
        self.permits = None;
        let mut rooms = self.gate.lock();
        // The map's reference and ours: nobody else reads or waits for this room.
        if Arc::strong_count(&self.room_sem) == 2 {
            rooms.remove(&self.room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_room_cannot_take_every_read_and_the_queue_is_bounded() {
        let gate = ReadGate::new(ReadLimits {
            node: 2,
            per_room: 1,
            queue: 2,
        });
        let a1 = gate.enter("a", true).await.unwrap();
        let b = gate.enter("b", true).await.unwrap();
        // A second read of `a` waits for the first, a read of `c` for the node.
        let second = gate.enter("a", true);
        let c = gate.enter("c", true);
        tokio::pin!(second, c);
        assert!(futures_util::poll!(second.as_mut()).is_pending());
        assert!(futures_util::poll!(c.as_mut()).is_pending());
        assert_eq!(gate.waiting(), 2);
        // The queue is full: a new join is refused, a replay under way waits.
        assert!(
            gate.enter("e", true).await.is_err(),
            "refused: too many wait"
        );
        let mut replay = Box::pin(gate.enter("e", false));
        assert!(futures_util::poll!(replay.as_mut()).is_pending());
        drop(b);
        assert!(
            c.await.is_ok(),
            "the node's freed read goes to the first in line"
        );
        drop(replay);
        drop(a1);
        let _second = second.await.unwrap();
    }

    #[tokio::test]
    async fn a_room_is_forgotten_when_its_last_pass_goes() {
        let gate = ReadGate::new(ReadLimits::default());
        let p = gate.enter("a", true).await.unwrap();
        assert_eq!(gate.lock().len(), 1);
        drop(p);
        assert_eq!(gate.lock().len(), 0);
        assert_eq!(gate.waiting(), 0);
    }
}
