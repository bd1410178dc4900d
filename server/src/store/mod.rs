//! The store seam: where messages are sequenced and kept, and how several nodes share rooms.
//! The hub publishes what a store has sequenced; a store never touches connections.
//!
//! Two traits, because they are two jobs that backends combine differently:
//! - [`History`]: a room's durable history. It opens a room (its `epoch` and `head`), appends a
//!   message (assigning the next `seq`, or finding the earlier message with the same
//!   `client_id`), reads a range of a room by `seq`, lists rooms and keeps conversations'
//!   members; retention (`--retain-*`) is its own business. Appends complete through a callback
//!   ([`AppendDone`]) so that a durable store can batch many messages into one commit and answer
//!   each only after its commit: the callback is where the hub fans the message out and acks it,
//!   so nothing is acked or delivered before it is stored. Completions for one room arrive in
//!   `seq` order, or close to it: the hub's publish reorders what arrives early (see
//!   `hub::room`).
//! - [`Bus`]: what a node shares with the other nodes of a cluster: messages they sequenced
//!   (delivered through the hub's [`Sink`] for the rooms it watches), presence, which user is
//!   connected where, and direct-message notices. A single node has no bus at all.
//!
//! A third, small trait, [`Positions`], keeps where each user has read up to in each room; a
//! fourth, [`RoomMembers`] (v1.2), who may do what in a room.
//!
//! The rest of the server holds a [`Store`] ([`handle`]): the history, the bus if any, and the
//! one place where blocking store calls are moved off the async workers. [`open`] builds it from
//! the [`Settings`], choosing the backend by `--store` name ([`open::BACKENDS`]): [`sqlite`] (the
//! default: durable, in `--data-dir`), [`memory`] (nothing on disk, a new epoch each start) and
//! [`redis`] (`--store redis` or `--redis URL`: several nodes sharing rooms; both history and
//! bus).

pub mod accounts;
mod bus;
pub mod entry;
pub mod handle;
mod history;
pub mod members;
pub mod memory;
pub mod open;
mod positions;
pub mod redis;
pub mod sqlite;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use banter_protocol::ChatMessage;
use banter_protocol::http::ConversationSummary;

pub use crate::frame::Frame;
pub use bus::{Bus, COMMITS_LOST, Sink};
pub use entry::{ChangeLimits, Entry, NewChange, Refusal};
pub use handle::{CommitHook, Store};
pub use history::{History, Thread};
pub use members::{MemoryMembers, RoomAccess, RoomMembers, Standing};
pub use open::{Settings, open};
pub use positions::{MAX_POSITIONS, MemoryPositions, Position, Positions, PositionsDone};
pub use sqlite::Sync as SqliteSync;

/// An entry as it is kept in memory: the typed value and its frame, encoded once.
#[derive(Debug)]
pub struct Stored {
    pub entry: Entry,
    pub frame: Frame,
    /// v1.2: the last `seq` whose effect this state includes: its own for an entry as
    /// appended, the room's head for a message read from the store in its current state. The
    /// hub folds a later entry into it only when that entry is newer (a reply is counted once).
    pub as_of: u64,
}

impl Stored {
    /// Encodes `entry` to its frame: the one place a `message` or `change` frame is
    /// serialized.
    pub fn new(entry: impl Into<Entry>) -> Arc<Stored> {
        let entry = entry.into();
        let as_of = entry.seq();
        Stored::read_at(entry, as_of)
    }

    /// An entry read from the store when the room's head was `head` (its state includes every
    /// entry up to it).
    pub fn read_at(entry: Entry, head: u64) -> Arc<Stored> {
        let frame = entry.frame();
        let as_of = head.max(entry.seq());
        Arc::new(Stored {
            entry,
            frame,
            as_of,
        })
    }

    pub fn seq(&self) -> u64 {
        self.entry.seq()
    }

    /// The message, when this entry is one.
    pub fn msg(&self) -> Option<&ChatMessage> {
        self.entry.message()
    }

    /// Bytes this entry holds in memory (its text twice: typed and encoded, and its folded
    /// reactions), for budgets.
    pub fn weight(&self) -> usize {
        let e = &self.entry;
        std::mem::size_of::<Stored>()
            + e.room().len()
            + e.user().len()
            + 36
            + e.text_bytes()
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

/// A message (or, v1.2, a change) to append: already validated by the hub.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub room: Arc<str>,
    pub user: String,
    pub text: String,
    /// `(user, client_id)` folded into one key, when the sender gave a `client_id`.
    pub dedupe_key: Option<String>,
    /// In a private conversation: its two members, stored with the message so that the store
    /// knows the conversation (see [`History::members`]).
    pub members: Option<(Arc<str>, Arc<str>)>,
    /// v1.2: the message answers this one (the store finds its thread's root; not_found when
    /// the room does not hold it).
    pub reply_to: Option<u64>,
    /// v1.2: the entry changes message `target` instead of being a message (`text` is an
    /// edit's new text).
    pub change: Option<NewChange>,
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
            reply_to: self.reply_to,
            ..Default::default()
        }
    }

    /// The change entry with its `seq`, by `self.user` at `ts` (`None` for a message).
    pub fn change_entry(&self, seq: u64, ts: u64) -> Option<banter_protocol::Change> {
        let c = self.change.as_ref()?;
        Some(banter_protocol::Change {
            room: self.room.to_string(),
            seq,
            target: c.target,
            user: self.user.clone(),
            ts,
            kind: c.kind,
            // An edit's new text; a moderation entry's subject.
            text: (c.kind == banter_protocol::ChangeKind::Edit || c.kind.is_moderation())
                .then(|| self.text.clone()),
            emoji: c.emoji.clone(),
        })
    }
}

/// A completed append.
#[derive(Debug, Clone)]
pub struct Appended {
    pub stored: Arc<Stored>,
    pub epoch: Arc<str>,
    /// The `client_id` had been seen within the dedupe window: this is the original entry,
    /// and nothing new was stored.
    pub duplicate: bool,
    /// v1.2: a change that changes nothing (a reaction given twice, or taken back when it was
    /// not given): nothing was stored, no `seq` taken; `stored` is the target as it is, and
    /// the change is acked with `seq` 0.
    pub noop: bool,
}

impl Appended {
    /// The `seq` an ack carries: the entry's, or 0 when nothing was stored.
    pub fn ack_seq(&self) -> u64 {
        if self.noop { 0 } else { self.stored.seq() }
    }
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

/// How long messages are kept (`--retain-messages`, `--retain-age`). `None` = forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep the newest this many messages per room.
    pub messages: Option<u64>,
    /// Keep messages younger than this.
    pub age: Option<std::time::Duration>,
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
    /// v1.2: a change or a reply refused by the rules (see [`entry::check`]).
    #[error(transparent)]
    Refused(Refusal),
}

impl StoreError {
    pub fn failed(e: impl std::fmt::Display) -> Self {
        StoreError::Failed(e.to_string().into())
    }
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
