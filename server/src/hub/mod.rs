//! The hub: rooms, members and fan-out, on top of a [`Store`] that sequences and keeps messages.
//!
//! A [`Hub`] is a cheap-to-clone handle. Every path that stores a message (a WebSocket `send`,
//! an HTTP post, a classic client) goes through [`Hub::post`], which validates it and hands it to
//! the store; when the store has made it durable, its completion publishes it to the room's
//! members (the frame encoded once, shared by all) and then answers the sender. So nothing is
//! delivered or acked before it is stored, and all three paths behave the same.
//!
//! Concerns, one per file: [`rooms`] (which rooms are loaded, loading and unloading), [`room`]
//! (a room's members, hot window and ordered publish), [`replay`] (what a resuming `join`
//! gets), [`presence`], [`presence_batch`] (presence coalesced per tick), [`users`] (the
//! directory for direct messages), [`budget`] (the byte budget of hot windows), [`peer`] (a
//! connection's queue), [`sink`] (what a store shared by several nodes delivers here),
//! [`positions`] (where each connected user has read up to).
//!
//! Presence is never sent from `join`/`leave`/`typing` themselves: they record it in the room's
//! [`presence_batch::PresenceBatch`] and list the room as dirty; [`Hub::flush_presence`], run
//! every `--presence-interval` by one server-wide task, sends at most `--presence-batch` frames
//! per room per tick. Once [`Hub::close`] is called (shutdown), nothing is recorded any more,
//! so closing every connection costs O(connections), with no presence storm.

mod access;
mod budget;
pub mod conversations;
mod files;
mod fold;
mod join;
mod lifecycle;
mod peer;
mod positions;
mod post;
mod presence;
pub mod presence_batch;
mod presence_tick;
mod replay;
mod room;
mod rooms;
mod sink;
mod users;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use banter_protocol::http::{MessagePage, RoomList, RoomSummary};
use banter_protocol::{ErrorCode, Limits, PresenceState, ValidationError};

use crate::limit::reads::{ReadGate, ReadLimits};
pub use crate::outbox::Outbound;
pub use crate::store::{Appended, Stored};
use crate::store::{NewMessage, Range, Store, StoreError, dedupe_key};
use conversations::{Conversations, Members};
pub use lifecycle::{ChangeRequest, refused as lifecycle_refused};
pub use peer::Peer;
pub use replay::{BacklogGap, BacklogStep};
use room::{Member, Room};
use rooms::Rooms;
use users::Users;

/// How many times a `join` retries when its room is unloaded under it, before answering
/// `unavailable`.
const JOIN_ATTEMPTS: usize = 8;

/// The hub's settings, taken from the server's [`crate::Config`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub limits: Limits,
    /// Messages a loaded room keeps in memory (its hot window).
    pub history: usize,
    /// Bytes all hot windows together may hold.
    pub window_budget: usize,
    /// The most messages one `join` replays.
    pub max_replay: u64,
    /// Rooms loaded at once.
    pub max_rooms: usize,
    /// Outbound queue length per connection, in frames.
    pub client_queue: usize,
    /// Outbound queue size per connection, in bytes.
    pub client_queue_bytes: usize,
    /// Messages a replay reads and queues at a time (its memory per connection).
    pub replay_chunk: usize,
    /// Store reads for joins and replays at once, on this node and per room, and joins that
    /// may wait for one (see [`ReadGate`]).
    pub replay_reads: ReadLimits,
    /// Presence frames per room per tick; 8 times as many changes may wait for later ticks.
    pub presence_batch: usize,
    /// Names listed in `joined` at most (the count is in `users_total`).
    pub joined_max_users: usize,
    /// v1.2: the message lifecycle's limits.
    pub lifecycle: crate::config::LifecycleConfig,
    /// v1.2: private rooms and group conversations.
    pub rooms: crate::config::rooms::RoomsConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            limits: Limits::default(),
            history: 1000,
            window_budget: 64 << 20,
            max_replay: 10_000,
            max_rooms: 10_000,
            client_queue: 1024,
            client_queue_bytes: 8 << 20,
            replay_chunk: 256,
            replay_reads: ReadLimits::default(),
            presence_batch: 32,
            joined_max_users: 100,
            lifecycle: crate::config::LifecycleConfig::default(),
            rooms: crate::config::rooms::RoomsConfig::default(),
        }
    }
}

/// Handle to the shared chat state. Clone freely.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: HubConfig,
    store: Store,
    rooms: Arc<Rooms>,
    users: Arc<Users>,
    /// Where the users connected here have read up to.
    positions: Arc<positions::ReadPositions>,
    conversations: Conversations,
    /// What the store delivers into (it holds only a weak reference).
    _sink: Arc<dyn crate::store::Sink>,
    next_id: AtomicU64,
    connections: AtomicUsize,
    /// Rooms with presence not sent yet.
    dirty: Mutex<Vec<Arc<Room>>>,
    /// Set by [`Hub::close`]: presence is no longer recorded.
    closing: AtomicBool,
    /// Store reads for joins and replays in flight, per node and per room.
    reads: ReadGate,
    /// Told of every message stored through this node (Web Push): see [`Hub::on_post`].
    post_hook: std::sync::OnceLock<PostHook>,
    /// v1.2: who is a server admin (`--auth accounts`; see [`Hub::set_admins`]).
    admins: std::sync::OnceLock<access::Admins>,
    /// v1.2: the files messages carry (see `files.rs`), set once at start.
    files: std::sync::OnceLock<files::FilesHook>,
}

/// Called with each message stored through this node (after it is published), and its
/// conversation's members; on the store's completion thread: it must not block.
pub type PostHook = Arc<dyn Fn(&Stored, Option<&Members>) + Send + Sync>;

/// What an append is besides a message's text (v1.2): a reply's parent, or a change.
#[derive(Debug, Default)]
pub struct Extra {
    pub reply_to: Option<u64>,
    pub change: Option<crate::store::NewChange>,
    /// v1.2: the files a message carries (checked: uploaded to its room).
    pub files: Vec<banter_protocol::FileInfo>,
}

/// A store failure, as a client sees it.
pub fn refusal(e: &StoreError) -> ValidationError {
    let (code, message) = match e {
        StoreError::Busy | StoreError::Full => (ErrorCode::Unavailable, e.to_string()),
        StoreError::Failed(_) => (
            ErrorCode::Unavailable,
            "the message could not be stored: retry shortly".into(),
        ),
        StoreError::TooManyRooms(_) => (ErrorCode::InvalidRoom, e.to_string()),
        StoreError::Refused(r) => return lifecycle::refused(r),
    };
    ValidationError { code, message }
}

impl Hub {
    pub fn new(cfg: HubConfig, store: Store) -> Self {
        let rooms = Arc::new(Rooms::new(
            cfg.history,
            cfg.window_budget,
            cfg.max_rooms,
            store.clone(),
        ));
        let users = Arc::new(Users::default());
        let positions = Arc::new(positions::ReadPositions::new(users.clone(), rooms.clone()));
        let sink: Arc<dyn crate::store::Sink> = Arc::new(sink::HubSink {
            rooms: rooms.clone(),
            users: users.clone(),
            positions: positions.clone(),
        });
        store.attach(Arc::downgrade(&sink));
        Hub {
            inner: Arc::new(Inner {
                store,
                rooms,
                users,
                positions,
                conversations: Conversations::default(),
                _sink: sink,
                next_id: AtomicU64::new(1),
                connections: AtomicUsize::new(0),
                dirty: Mutex::new(Vec::new()),
                closing: AtomicBool::new(false),
                reads: ReadGate::new(cfg.replay_reads),
                post_hook: std::sync::OnceLock::new(),
                admins: std::sync::OnceLock::new(),
                files: std::sync::OnceLock::new(),
                cfg,
            }),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.cfg
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.cfg.limits
    }

    /// Rooms loaded in memory now (for `/metrics`).
    pub fn rooms_loaded(&self) -> usize {
        self.inner.rooms.len()
    }

    /// The gate of store reads for joins and replays.
    pub fn reads(&self) -> &ReadGate {
        &self.inner.reads
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Bytes held by hot windows now.
    pub fn window_bytes(&self) -> usize {
        self.inner.rooms.budget.used()
    }

    /// A new connection's peer, with an empty queue of `--client-queue` entries and
    /// `--client-queue-bytes` bytes.
    pub fn new_peer(&self) -> Peer {
        Peer::new(
            self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            self.inner.cfg.client_queue,
            self.inner.cfg.client_queue_bytes,
        )
    }

    /// Counts an open connection if fewer than `max` are open; the guard uncounts it on drop.
    pub fn try_open_connection(&self, max: usize) -> Option<ConnectionGuard> {
        let counter = &self.inner.connections;
        let mut current = counter.load(Ordering::Relaxed);
        loop {
            if current >= max {
                return None;
            }
            match counter.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(ConnectionGuard { hub: self.clone() }),
                Err(now) => current = now,
            }
        }
    }

    /// Open WebSocket connections.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Adds a classic client to `room`: it receives messages in the `{user, message}` shape and
    /// takes no part in presence.
    pub async fn join_classic(&self, peer: &Peer, room: &str) -> Result<(), ValidationError> {
        for _ in 0..JOIN_ATTEMPTS {
            let room = self
                .inner
                .rooms
                .load(room, &self.inner.store)
                .await
                .map_err(|e| refusal(&e))?;
            let mut st = room.lock();
            if st.unloaded {
                continue;
            }
            if st.access.private {
                // A classic client has no name to be a member by.
                return Err(crate::rooms::access::forbidden());
            }
            st.members.push(Member {
                peer: peer.clone(),
                name: None,
                presence_since: u64::MAX,
            });
            return Ok(());
        }
        Err(refusal(&StoreError::Busy))
    }

    /// Removes `peer` from `room`; tells the others if its name is no longer present there;
    /// unloads the room when it empties. Returns whether it was a member.
    pub fn leave(&self, peer_id: u64, room: &str) -> bool {
        let Some(room) = self.inner.rooms.get(room) else {
            return false;
        };
        let (empty, gone) = {
            let mut st = room.lock();
            let Some(at) = st.members.iter().position(|m| m.peer.id() == peer_id) else {
                return false;
            };
            let member = st.members.swap_remove(at);
            let mut gone = None;
            if let Some(name) = member.name {
                let change = st.presence.depart(&name);
                if change.room {
                    self.record(&room, &mut st, &name, PresenceState::Left, None);
                }
                gone = change.here.then_some(name);
            }
            (st.members.is_empty(), gone)
        };
        if let Some(name) = gone {
            self.inner.store.presence(&room.name, &name, false);
        }
        if empty {
            self.inner.rooms.unload_if_empty(&room, &self.inner.store);
        }
        true
    }

    /// Whether `peer_id` is a member of `room`.
    pub fn is_member(&self, peer_id: u64, room: &str) -> bool {
        self.inner
            .rooms
            .get(room)
            .is_some_and(|r| r.lock().is_member(peer_id))
    }

    /// Checks a room name: a room's, or a well-formed conversation id (whatever
    /// `--max-room-chars` says).
    pub fn check_room<'a>(&self, room: &'a str) -> Result<&'a str, ValidationError> {
        if banter_protocol::is_conversation(room) {
            conversations::valid_id(room)
        } else if banter_protocol::is_group(room) {
            crate::rooms::groups::valid_id(room)
        } else {
            self.inner.cfg.limits.room(room)
        }
    }

    /// Stores a message (room and user already checked), then publishes it and, in a private
    /// conversation, tells the members' other connections (but `skip`'s); then `reply`.
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        members: Option<Members>,
        skip: Option<u64>,
        extra: Extra,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let limits = &self.inner.cfg.limits;
        // A deletion or a reaction has no text; a moderation entry's is its subject's name.
        let text = match &extra.change {
            Some(c) if c.kind.is_moderation() => text,
            Some(c) if c.kind != banter_protocol::ChangeKind::Edit => "",
            // v1.2: a message of files alone may have no text.
            None if text.is_empty() && !extra.files.is_empty() => "",
            _ => limits.text(text)?,
        };
        let client_id = client_id.map(|c| limits.client_id(c)).transpose()?;
        let msg = NewMessage {
            room: room.into(),
            user: user.to_owned(),
            text: text.to_owned(),
            dedupe_key: client_id.map(|c| dedupe_key(user, c)),
            members: members.as_ref().map(|m| (m.0.clone(), m.1.clone())),
            reply_to: extra.reply_to,
            change: extra.change,
            files: extra.files,
        };
        let hub = self.clone();
        self.inner.store.append(
            msg,
            Box::new(move |result| {
                if let Ok(a) = &result
                    && !a.duplicate
                    && !a.noop
                {
                    let inner = &hub.inner;
                    inner
                        .rooms
                        .publish(a.stored.entry.room(), &a.epoch, a.stored.clone());
                    hub.files_stored(a);
                    if let Some(m) = &members {
                        let store = &inner.store;
                        conversations::notify(
                            &inner.rooms,
                            &inner.users,
                            store,
                            &a.stored,
                            m,
                            skip,
                        );
                    }
                    if let Some(hook) = inner.post_hook.get()
                        && a.stored.msg().is_some()
                    {
                        hook(&a.stored, members.as_ref());
                    }
                }
                reply(result);
            }),
        );
        Ok(())
    }

    /// Sets the hook told of every message stored through this node (once: Web Push's; a
    /// second call is ignored).
    pub fn on_post(&self, hook: PostHook) {
        let _ = self.inner.post_hook.set(hook);
    }

    /// Whether `name` has a connection on this node.
    pub fn is_connected(&self, name: &str) -> bool {
        self.inner.users.contains(name)
    }

    /// Makes `peer` reachable by direct messages to `name`.
    pub async fn register_user(&self, name: &Arc<str>, peer: &Peer) {
        if self.inner.users.register(name, peer) {
            self.inner.store.user_arrived(name).await;
        }
    }

    /// Ends every connection of `name` on this node with 4001 (their sessions were revoked:
    /// `--auth accounts`). Returns how many there were.
    pub fn revoke_user(&self, name: &str) -> usize {
        self.inner.users.revoke(name)
    }

    /// Forgets a closed connection: leaves its rooms and unregisters its name.
    pub fn disconnect<'a>(
        &self,
        peer_id: u64,
        name: Option<&str>,
        rooms: impl IntoIterator<Item = &'a str>,
    ) {
        for room in rooms {
            self.leave(peer_id, room);
        }
        if let Some(name) = name
            && self.inner.users.unregister(name, peer_id)
        {
            self.inner.positions.forget_unless_connected(name);
            self.inner.store.user_left(name);
        }
    }

    /// A page of a room's history, read from the store: the oldest `limit` after `since`, or
    /// the newest `limit` below `before`.
    pub async fn history(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<MessagePage, StoreError> {
        let (entries, meta) = self.inner.store.read(room, range, limit).await?;
        let complete = match range {
            Range::After(since) => match entries.first() {
                Some(first) => first.seq() == since + 1,
                None => since == meta.head,
            },
            Range::Before(_) => entries.first().is_none_or(|m| m.seq() <= meta.oldest),
        };
        let (mut messages, mut changes) = (Vec::with_capacity(entries.len()), Vec::new());
        for e in entries {
            match e {
                crate::store::Entry::Message(m) => messages.push(m),
                crate::store::Entry::Change(c) => changes.push(c),
            }
        }
        Ok(MessagePage {
            room: room.to_owned(),
            messages,
            complete,
            epoch: meta.epoch.to_string(),
            changes,
        })
    }

    /// v1.2: thread `root` of `room` (see [`crate::store::History::thread`]).
    pub async fn thread(
        &self,
        room: &str,
        root: u64,
        after: u64,
        limit: usize,
    ) -> Result<crate::store::Thread, StoreError> {
        self.inner.store.thread(room, root, after, limit).await
    }

    /// Stored rooms with their head, and how many users are present in each, sorted by name;
    /// with `only` (a token's `rooms` claim), those rooms alone, filtered before the cut.
    pub async fn rooms(
        &self,
        limit: usize,
        only: Option<&[String]>,
    ) -> Result<RoomList, StoreError> {
        let stored = match only {
            Some(names) => self.inner.store.list_named(names, limit).await?,
            None => self.inner.store.list(limit).await?,
        };
        let mut rooms: Vec<RoomSummary> = stored
            .into_iter()
            .filter(|(room, _)| !banter_protocol::is_conversation(room))
            .map(|(room, head)| RoomSummary {
                users: self
                    .inner
                    .rooms
                    .get(&room)
                    .map_or(0, |r| r.lock().presence.len()),
                room,
                head,
                private: false,
            })
            .collect();
        // Rooms people are in that have no message yet.
        for r in self.inner.rooms.all() {
            if !banter_protocol::is_conversation(&r.name)
                && only.is_none_or(|names| names.iter().any(|n| *n == *r.name))
                && !rooms.iter().any(|s| *s.room == *r.name)
            {
                let st = r.lock();
                rooms.push(RoomSummary {
                    room: r.name.to_string(),
                    head: st.head,
                    users: st.presence.len(),
                    private: false,
                });
            }
        }
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        rooms.truncate(limit);
        Ok(RoomList { rooms })
    }
}

/// Counts one open connection; uncounts it when dropped.
pub struct ConnectionGuard {
    hub: Hub,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.hub.inner.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests;
