//! The store seam: where messages are sequenced and kept. The hub publishes what a store has
//! sequenced; a store never touches connections.
//!
//! A [`Store`] opens a room (its `epoch` and `head`), appends a message (assigning the next
//! `seq`, or finding the earlier message with the same `client_id`) and reads a range of a room
//! by `seq`. Appends complete through a callback ([`AppendDone`]) so that a durable store can
//! batch many messages into one commit and answer each only after its commit: the callback is
//! where the hub fans the message out and acks it, so nothing is acked or delivered before it is
//! stored. Completions for one room arrive in `seq` order, or close to it: the hub's publish
//! reorders what arrives early (see `hub::room`).
//!
//! Implementations: [`sqlite::SqliteStore`] (the default: durable, in `--data-dir`) and
//! [`memory::MemoryStore`] (`--store memory`: nothing on disk, a new epoch each start).

pub mod dedupe;
pub mod memory;
pub mod sqlite;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use banter_protocol::{ChatMessage, ServerMsg};

/// One encoded WebSocket text frame. Cloning shares the bytes (a reference-count bump).
pub type Frame = axum::extract::ws::Utf8Bytes;

/// A message as it is kept in memory: the typed value and its `message` frame, encoded once.
#[derive(Debug)]
pub struct Stored {
    pub msg: ChatMessage,
    pub frame: Frame,
}

impl Stored {
    /// Encodes `msg` to its frame: the one place a `message` frame is serialized.
    pub fn new(msg: ChatMessage) -> Arc<Stored> {
        let frame: Frame = ServerMsg::message_json(&msg).into();
        Arc::new(Stored { msg, frame })
    }

    /// Bytes this message holds in memory (its text twice: typed and encoded), for budgets.
    pub fn weight(&self) -> usize {
        let m = &self.msg;
        std::mem::size_of::<Stored>()
            + m.room.len()
            + m.id.len()
            + m.user.len()
            + m.text.len()
            + self.frame.len()
    }
}

/// A room as a store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMeta {
    /// The life of this room's history that its `seq`s belong to.
    pub epoch: Arc<str>,
    /// The latest `seq` (0 before the first message).
    pub head: u64,
    /// The oldest `seq` still held (`head + 1` when nothing is held).
    pub oldest: u64,
}

/// A message to append: already validated by the hub.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: Arc<str>,
    pub user: String,
    pub text: String,
    /// `(user, client_id)` folded into one key, when the sender gave a `client_id`.
    pub dedupe_key: Option<String>,
}

impl NewMessage {
    /// The message with its `seq`, a fresh id and the time now.
    pub fn sequenced(&self, seq: u64) -> ChatMessage {
        ChatMessage {
            room: self.room.to_string(),
            seq,
            id: uuid::Uuid::now_v7().to_string(),
            user: self.user.clone(),
            text: self.text.clone(),
            ts: now_ms(),
        }
    }
}

/// A completed append.
#[derive(Debug, Clone)]
pub struct Appended {
    pub stored: Arc<Stored>,
    pub epoch: Arc<str>,
    /// The `client_id` had been seen within the dedupe window: this is the original message,
    /// and nothing new was stored.
    pub duplicate: bool,
}

/// Runs once when an append is durable (or failed). Called in `seq` order per room, from the
/// store's own thread: it must not block.
pub type AppendDone = Box<dyn FnOnce(Result<Appended, StoreError>) + Send>;

/// Which part of a room to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The oldest messages with `seq > since`, ascending.
    After(u64),
    /// The newest messages with `seq < before`, returned ascending.
    Before(u64),
}

/// Why a store could not do what was asked. Internals go to the log; clients see a short,
/// fitting error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The write queue is full: the store is behind. Retry shortly.
    #[error("the store is busy: retry shortly")]
    Busy,
    /// The store failed (disk full, I/O error, closed): details are logged.
    #[error("the store failed: {0}")]
    Failed(Arc<str>),
    /// `--store memory` holds at most `--max-rooms` rooms.
    #[error("the server's room limit ({0}) is reached")]
    TooManyRooms(usize),
}

impl StoreError {
    pub fn failed(e: impl std::fmt::Display) -> Self {
        StoreError::Failed(e.to_string().into())
    }
}

/// See the module docs.
pub trait Store: Send + Sync + 'static {
    /// The room's epoch, head and oldest held `seq`. A room that was never written has an
    /// epoch too (the one its first message will get).
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError>;

    /// Appends `msg`, or finds the message already stored under its dedupe key within the
    /// dedupe window; `done` runs once that is durable.
    fn append(&self, msg: NewMessage, done: AppendDone);

    /// At most `limit` messages of `room` in `range`, ascending by `seq`, with the room's meta
    /// as of the read.
    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<ChatMessage>, RoomMeta), StoreError>;

    /// Up to `limit` rooms that hold messages, by name, with their head.
    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError>;

    /// Whether the store can serve now (for `/readyz`).
    fn ready(&self) -> bool {
        true
    }
}

/// The dedupe key of a `client_id` sent by `user`: the same `client_id` from another user is
/// another message.
pub fn dedupe_key(user: &str, client_id: &str) -> String {
    format!("{user}\u{0}{client_id}")
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A new epoch: a UUID v7, so epochs sort by creation time and never repeat.
pub fn new_epoch() -> Arc<str> {
    uuid::Uuid::now_v7().simple().to_string().into()
}
