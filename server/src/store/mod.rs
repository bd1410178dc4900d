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
//! Implementations: [`sqlite::SqliteStore`] (the default: durable, in `--data-dir`),
//! [`memory::MemoryStore`] (`--store memory`: nothing on disk, a new epoch each start) and
//! [`redis::RedisStore`] (`--redis URL`: several nodes sharing rooms). A store shared by several
//! nodes also sequences messages posted on other nodes: it delivers them through the [`Sink`]
//! the hub attaches, for the rooms the hub watches (see [`Store::watch`]).

pub mod dedupe;
pub mod memory;
pub mod redis;
pub mod sqlite;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use banter_protocol::http::ConversationSummary;
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
    /// In a private conversation: its two members, stored with the message so that the store
    /// knows the conversation (see [`Store::members`]).
    pub members: Option<(Arc<str>, Arc<str>)>,
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
    /// The store has no space left (`--store-max-bytes`, or the disk is full): nothing more is
    /// stored until space is freed.
    #[error("the store is full: the message was not stored")]
    Full,
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

    /// Up to `limit` rooms that hold messages, by name, with their head (never private
    /// conversations).
    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError>;

    /// Those of `names` that hold messages, with their head, by name, at most `limit` (never
    /// private conversations): the room list of a token limited to some rooms, filtered before
    /// it is cut. By default one [`Store::room`] per name.
    fn list_named(&self, names: &[String], limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let mut names: Vec<&String> = names
            .iter()
            .filter(|n| !banter_protocol::is_conversation(n))
            .collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            if out.len() >= limit {
                break;
            }
            let head = self.room(name)?.head;
            if head > 0 {
                out.push((name.clone(), head));
            }
        }
        Ok(out)
    }

    /// The two members of the private conversation `room`, once it holds a message.
    fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError>;

    /// Up to `limit` of `user`'s private conversations, most recent first.
    fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// Whether the store can serve now (for `/readyz`).
    fn ready(&self) -> bool {
        true
    }

    /// Gives the store the hub's rooms, to publish what other nodes sequenced. Called once, by
    /// `Hub::new`. A store of one node has nothing to deliver.
    fn attach(&self, _sink: std::sync::Weak<dyn Sink>) {}

    /// The hub is loading `room` (it has local members): from the return on, the store delivers
    /// to the sink every message of `room` sequenced elsewhere. Called before [`Store::room`],
    /// so a message sequenced after the head it reads is delivered. Calls are counted: each
    /// `watch` is matched by one [`Store::unwatch`].
    fn watch(&self, _room: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The hub unloaded `room` (see [`Store::watch`]).
    fn unwatch(&self, _room: &str) {}

    /// `name`'s first connection in `room` arrived on this node (`here`), or its last one left:
    /// a store shared by several nodes tells the others ([`Sink::remote_presence`]).
    fn presence(&self, _room: &str, _name: &str, _here: bool) {}

    /// `name`'s first connection registered on this node (`here`), or its last one left: a
    /// store shared by several nodes routes direct messages for `name` here meanwhile.
    fn user(&self, _name: &str, _here: bool) {}

    /// Sends the `direct` frame of a message in conversation `room` to `to`'s connections on
    /// other nodes (nothing for a store of one node). Must not block: it is called from
    /// completions.
    fn direct(&self, _to: &str, _room: &str, _frame: &Frame) {}
}

/// Where a store shared with other nodes delivers messages they sequenced: the hub's rooms.
pub trait Sink: Send + Sync + 'static {
    /// Publishes a stored message of `epoch` to the room's local members (idempotent and
    /// ordered by `seq`; ignored if the room is loaded in another epoch).
    fn publish(&self, room: &str, epoch: &str, stored: Arc<Stored>);

    /// The loaded room's epoch and head; `None` when it is not loaded or still loading.
    fn head(&self, room: &str) -> Option<(Arc<str>, u64)>;

    /// The room's history was lost (a new epoch): closes its members' connections as too slow
    /// (4000: they resume, and are told `complete: false`) and unloads it, so it loads again
    /// in the new epoch. When it was loaded, returns the names that were present on this node
    /// (they left without a [`Store::presence`]); its watch ends: the store uncounts it.
    fn reset(&self, room: &str) -> Option<Vec<String>>;

    /// `name` arrived in (`here`) or left `room` on another `node`.
    fn remote_presence(&self, room: &str, node: &str, name: &str, here: bool);

    /// Who is present in `room` on other nodes now, as `(node, name)`: replaces what the room
    /// held (entries of a node that died are gone from it).
    fn sync_presence(&self, room: &str, entries: &[(String, String)]);

    /// The `direct` frame of a message in conversation `room`, stored on another node: to
    /// `to`'s connections here that have not joined `room`.
    fn direct(&self, to: &str, room: &str, frame: Frame);
}

/// The dedupe key of a `client_id` sent by `user`: the same `client_id` from another user is
/// another message.
pub fn dedupe_key(user: &str, client_id: &str) -> String {
    format!("{user}\u{0}{client_id}")
}

/// Sorts conversations most recent first (then by id, for a stable order) and keeps `limit`.
pub fn most_recent_first(list: &mut Vec<ConversationSummary>, limit: usize) {
    list.sort_by(|x, y| y.ts.cmp(&x.ts).then_with(|| x.room.cmp(&y.room)));
    list.truncate(limit);
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
