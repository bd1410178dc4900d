//! A connection's bounded outbound queue: what the hub has for it and its writer has not written.
//!
//! Purpose-built instead of a tokio `mpsc` channel because there is one per connection and most
//! connections are idle: a bounded `mpsc` allocates a 32-slot block and cache-padded headers up
//! front (about 1.5 KiB), where an empty [`Outbox`] owns no buffer at all. It is also
//! double-buffered: the writer swaps the whole queue out under the lock in O(1) and writes it
//! as one batch, so the hub's side never waits for a write.
//!
//! The bound is a count of entries. When a push finds the queue full, the connection is *kicked*:
//! its queue is dropped and its writer is told to close with 4000 ("too slow"). The client then
//! resumes with `since`; nothing is lost, and memory stays bounded.
//!
//! The lock is a std `Mutex` held only to push, swap or flag, never across an `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::frame::Frame;

/// What a connection's queue carries. A replay travels as one `Batch` so that it takes one
/// slot however long it is (it is bounded by the history size).
#[derive(Debug)]
pub enum Outbound {
    Frame(Frame),
    Batch(Vec<Frame>),
}

/// See the module docs.
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<VecDeque<Outbound>>,
    capacity: usize,
    kicked: AtomicBool,
    /// Signalled when the queue goes from empty to non-empty.
    ready: Notify,
    /// Signalled once, when the connection is kicked.
    kick: Notify,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            kicked: AtomicBool::new(false),
            ready: Notify::new(),
            kick: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Outbound>> {
        // A poisoned queue is still a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `out` without waiting. Returns `false` if it was not queued: the connection was
    /// kicked now (the queue was full) or before.
    pub fn push(&self, out: Outbound) -> bool {
        if self.is_kicked() {
            return false;
        }
        let mut queue = self.lock();
        if queue.len() >= self.capacity {
            queue.clear();
            drop(queue);
            self.kick();
            return false;
        }
        let was_empty = queue.is_empty();
        queue.push_back(out);
        drop(queue);
        if was_empty {
            // The writer takes everything at once, so only the first push after a take wakes it.
            self.ready.notify_one();
        }
        true
    }

    /// Marks the connection as too slow and wakes its writer.
    pub fn kick(&self) {
        if !self.kicked.swap(true, Ordering::AcqRel) {
            self.kick.notify_one();
        }
    }

    pub fn is_kicked(&self) -> bool {
        self.kicked.load(Ordering::Acquire)
    }

    /// Completes once the connection has been kicked.
    pub async fn kicked(&self) {
        if !self.is_kicked() {
            // `notify_one` stores a permit, so a kick between the check and here is not lost.
            self.kick.notified().await;
        }
    }

    /// Completes when something may have been queued since the last [`Outbox::take`].
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Swaps everything queued into `into` (which should be empty), leaving `into`'s old
    /// allocation to the queue. Returns whether anything was taken.
    pub fn take(&self, into: &mut VecDeque<Outbound>) -> bool {
        let mut queue = self.lock();
        std::mem::swap(&mut *queue, into);
        !into.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &'static str) -> Outbound {
        Outbound::Frame(Frame::from_static(s))
    }

    #[tokio::test]
    async fn takes_everything_at_once_and_wakes_once_per_take() {
        let outbox = Outbox::new(8);
        assert!(outbox.push(frame("a")));
        assert!(outbox.push(frame("b")));
        outbox.ready().await; // a permit from the first push
        let mut batch = VecDeque::new();
        assert!(outbox.take(&mut batch));
        assert_eq!(batch.len(), 2);
        batch.clear();
        assert!(!outbox.take(&mut batch));
        assert!(outbox.push(frame("c")));
        tokio::time::timeout(std::time::Duration::from_secs(1), outbox.ready())
            .await
            .expect("a push after a take wakes the writer");
    }

    #[tokio::test]
    async fn a_full_queue_kicks_and_drops_its_backlog() {
        let outbox = Outbox::new(2);
        assert!(outbox.push(frame("a")));
        assert!(outbox.push(frame("b")));
        assert!(!outbox.is_kicked());
        assert!(!outbox.push(frame("c")));
        assert!(outbox.is_kicked());
        outbox.kicked().await;
        let mut batch = VecDeque::new();
        assert!(!outbox.take(&mut batch), "the backlog is freed");
        assert!(!outbox.push(frame("d")), "nothing more is queued");
    }
}
