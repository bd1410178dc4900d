//! A connection's bounded outbound queue: what the hub has for it and its writer has not written.
//!
//! Purpose-built instead of a tokio `mpsc` channel because there is one per connection and most
//! connections are idle: a bounded `mpsc` allocates a 32-slot block and cache-padded headers up
//! front (about 1.5 KiB), where an empty [`Outbox`] owns no buffer at all. It is also
//! double-buffered: the writer swaps the whole queue out under the lock in O(1) and writes it
//! as one batch, so the hub's side never waits for a write.
//!
//! The bound is a count of entries (`--client-queue`) and a count of bytes
//! (`--client-queue-bytes`). When a push would pass either, the connection is *kicked*: its
//! queue is dropped and its writer is told to close with 4000 ("too slow"). The client then
//! resumes with `since`; nothing is lost, and memory stays bounded. A replay never sits here
//! whole: past its first chunk it is a [`Backlog`], a range of `seq`s that the writer reads a
//! chunk at a time as the client takes them, so a replay holds at most one chunk per connection.
//!
//! The lock is a std `Mutex` held only to push, swap or flag, never across an `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::frame::Frame;

/// What a connection's queue carries. A replay's start (`joined`, the `replay` bracket, its first
/// chunk) travels as one `Batch`; the rest of it as a [`Backlog`].
#[derive(Debug)]
pub enum Outbound {
    Frame(Frame),
    Batch(Vec<Frame>),
    Backlog(Backlog),
}

impl Outbound {
    /// The bytes this entry holds (a backlog holds none until it is read).
    fn bytes(&self) -> usize {
        match self {
            Outbound::Frame(f) => f.len(),
            Outbound::Batch(fs) => fs.iter().map(|f| f.len()).sum(),
            Outbound::Backlog(_) => 0,
        }
    }
}

/// The rest of a replay: the messages `next..=last` of `room` (in `epoch`), still to be read
/// (from the room's hot window, else the store) and written, a chunk at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub room: Arc<str>,
    pub epoch: Arc<str>,
    pub next: u64,
    pub last: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Outbox {
    queue: Mutex<Queue>,
    capacity: usize,
    max_bytes: usize,
    kicked: AtomicBool,
    /// Kicked because the user's sessions were revoked (close with 4001, not 4000).
    revoked: AtomicBool,
    /// Signalled when the queue goes from empty to non-empty.
    ready: Notify,
    /// Signalled once, when the connection is kicked.
    kick: Notify,
}

/// The entries queued and their bytes.
#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Outbound>,
    bytes: usize,
}

impl Outbox {
    /// A queue of at most `capacity` entries and `max_bytes` bytes.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Outbox {
            queue: Mutex::default(),
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
            kicked: AtomicBool::new(false),
            revoked: AtomicBool::new(false),
            ready: Notify::new(),
            kick: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A poisoned queue is still a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `out` without waiting. Returns `false` if it was not queued: the connection was
    /// kicked now (the queue was full) or before.
    pub fn push(&self, out: Outbound) -> bool {
        if self.is_kicked() {
            return false;
        }
        let bytes = out.bytes();
        let mut queue = self.lock();
        if queue.entries.len() >= self.capacity || queue.bytes + bytes > self.max_bytes {
            *queue = Queue::default();
            drop(queue);
            self.kick();
            return false;
        }
        let was_empty = queue.entries.is_empty();
        queue.entries.push_back(out);
        queue.bytes += bytes;
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

    /// Ends the connection because its user's sessions were revoked: kicked, closing with 4001.
    pub fn revoke(&self) {
        self.revoked.store(true, Ordering::Release);
        self.kick();
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::Acquire)
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
        std::mem::swap(&mut queue.entries, into);
        queue.bytes = 0;
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
        let outbox = Outbox::new(8, 1 << 20);
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
        let outbox = Outbox::new(2, 1 << 20);
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

    #[test]
    fn the_bound_counts_bytes_not_only_entries() {
        let outbox = Outbox::new(100, 10);
        assert!(outbox.push(frame("12345")));
        assert!(outbox.push(frame("1234")));
        let mut batch = VecDeque::new();
        assert!(outbox.take(&mut batch), "a take frees the bytes");
        assert!(outbox.push(Outbound::Batch(vec![Frame::from_static("123456789")])));
        assert!(!outbox.push(frame("12")), "11 bytes > 10: kicked");
        assert!(outbox.is_kicked());
    }
}
