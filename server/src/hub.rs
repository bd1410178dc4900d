//! The hub: rooms, their members, history and `seq`, and fan-out. The heart of the server.
//!
//! A [`Hub`] is a cheap-to-clone handle. Rooms are created on first use; each holds a per-room
//! `seq` counter, a bounded history ring, a bounded idempotency (dedupe) table and its members.
//! Every path that stores a message (a WebSocket `send`, an HTTP post, a classic client) goes
//! through [`Hub::post`], so they all behave the same.
//!
//! Fan-out: a message is validated and encoded to its JSON frame once; the same shared bytes
//! ([`Frame`]) go to every member's bounded outbound queue with a non-blocking `try_send`. A member
//! whose queue is full is *kicked* (its connection closes with 4000 and the client resumes with
//! `since`), so one slow client never slows a room and memory stays bounded.
//!
//! Locking: each room has its own `std::sync::Mutex`. Assigning `seq`, appending to history and
//! queueing to members happen under that one lock, which is what makes a room's order a single
//! total order, the same for every member, for replay and for `GET`. The lock is never held across
//! an `.await` (nothing in here is async), and the work under it is a pointer copy per member.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::Utf8Bytes;
use banter_protocol::http::{MessagePage, RoomList, RoomSummary};
use banter_protocol::{
    ChatMessage, ClassicMsg, DirectMessage, ErrorCode, Limits, PresenceState, ServerMsg,
    ValidationError,
};
use tokio::time::Instant;

pub use crate::outbox::Outbound;
use crate::outbox::Outbox;

/// One encoded WebSocket text frame. Cloning shares the bytes (a reference-count bump).
pub type Frame = Utf8Bytes;

/// The hub's side of one connection: its id and its bounded [`Outbox`].
#[derive(Clone, Debug)]
pub struct Peer {
    id: u64,
    outbox: Arc<Outbox>,
}

impl Peer {
    /// The connection's id, unique within this server.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Queues `out` without waiting. A full queue means the client cannot keep up: it is kicked
    /// (its connection closes with 4000) and the frame is dropped; the client resumes with
    /// `since`.
    pub fn deliver(&self, out: Outbound) -> bool {
        let was_kicked = self.outbox.is_kicked();
        let queued = self.outbox.push(out);
        if !queued && !was_kicked {
            tracing::info!(conn = self.id, "outbound queue full: closing as too slow");
        }
        queued
    }

    fn send(&self, msg: &ServerMsg) -> bool {
        self.deliver(Outbound::Frame(msg.to_json().into()))
    }

    /// The connection's queue, for its writer.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}

/// The hub's settings, taken from the server's [`crate::Config`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub limits: Limits,
    /// Messages kept per room for replay and `GET`.
    pub history: usize,
    /// How long a `client_id` is remembered for idempotent sends.
    pub dedupe_window: Duration,
    /// How many `client_id`s a room remembers at most.
    pub dedupe_capacity: usize,
    /// How many rooms may exist.
    pub max_rooms: usize,
    /// Outbound queue length per connection, in frames.
    pub client_queue: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            limits: Limits::default(),
            history: 1000,
            dedupe_window: Duration::from_secs(300),
            dedupe_capacity: 1000,
            max_rooms: 10_000,
            client_queue: 1024,
        }
    }
}

/// A message as the hub keeps it: the typed value and its encoded `message` frame.
#[derive(Debug)]
pub struct Stored {
    pub msg: ChatMessage,
    pub frame: Frame,
}

/// The result of [`Hub::post`].
#[derive(Debug, Clone)]
pub struct Posted {
    pub stored: Arc<Stored>,
    /// `true` when the `client_id` had been seen: nothing new was stored.
    pub duplicate: bool,
}

/// Handle to the shared chat state. Clone freely.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: HubConfig,
    rooms: Mutex<HashMap<Arc<str>, Arc<Room>>>,
    /// Connected users by name, for direct messages. A name may have several connections.
    users: Mutex<HashMap<Arc<str>, Vec<Peer>>>,
    next_id: AtomicU64,
    connections: AtomicUsize,
}

struct Room {
    name: Arc<str>,
    state: Mutex<RoomState>,
}

struct RoomState {
    head: u64,
    history: VecDeque<Arc<Stored>>,
    members: Vec<Member>,
    /// Present names with their number of connections; presence counts a name once.
    present: HashMap<Arc<str>, u32>,
    dedupe: Dedupe,
}

struct Member {
    peer: Peer,
    /// `None` for a classic client, which chats under whatever `user` each message names.
    name: Option<Arc<str>>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the hub's invariants
/// hold between statements, so the data is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> ValidationError {
    ValidationError {
        code,
        message: message.into(),
    }
}

impl Hub {
    pub fn new(cfg: HubConfig) -> Self {
        Hub {
            inner: Arc::new(Inner {
                cfg,
                rooms: Mutex::new(HashMap::new()),
                users: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                connections: AtomicUsize::new(0),
            }),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.cfg
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.cfg.limits
    }

    /// A new connection's peer, with an empty queue of `--client-queue` entries.
    pub fn new_peer(&self) -> Peer {
        Peer {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            outbox: Arc::new(Outbox::new(self.inner.cfg.client_queue)),
        }
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

    fn room(&self, name: &str) -> Option<Arc<Room>> {
        lock(&self.inner.rooms).get(name).cloned()
    }

    fn room_or_create(&self, name: &str) -> Result<Arc<Room>, ValidationError> {
        let mut rooms = lock(&self.inner.rooms);
        if let Some(room) = rooms.get(name) {
            return Ok(room.clone());
        }
        if rooms.len() >= self.inner.cfg.max_rooms {
            return Err(invalid(
                ErrorCode::InvalidRoom,
                format!(
                    "the server's room limit ({}) is reached",
                    self.inner.cfg.max_rooms
                ),
            ));
        }
        let name: Arc<str> = name.into();
        let room = Arc::new(Room {
            name: name.clone(),
            state: Mutex::new(RoomState {
                head: 0,
                history: VecDeque::new(),
                members: Vec::new(),
                present: HashMap::new(),
                dedupe: Dedupe::default(),
            }),
        });
        rooms.insert(name, room.clone());
        Ok(room)
    }

    /// Adds `peer` to `room` as `name` (already validated). Queues `joined` to the peer, then,
    /// with `since`, the replay; tells the others the name joined if it was not present yet.
    /// All under the room lock: nothing between the replay and live traffic is lost or doubled.
    pub fn join(
        &self,
        peer: &Peer,
        room: &str,
        name: &Arc<str>,
        since: Option<u64>,
    ) -> Result<(), ValidationError> {
        let room = self.room_or_create(room)?;
        let mut st = lock(&room.state);
        let newly_present = if st.members.iter().any(|m| m.peer.id == peer.id) {
            false
        } else {
            st.members.push(Member {
                peer: peer.clone(),
                name: Some(name.clone()),
            });
            let count = st.present.entry(name.clone()).or_insert(0);
            *count += 1;
            *count == 1
        };
        let mut users: Vec<String> = st.present.keys().map(|n| n.to_string()).collect();
        users.sort_unstable();
        let joined = ServerMsg::Joined {
            room: room.name.to_string(),
            users,
            head: st.head,
            epoch: String::new(),
        };
        match since {
            None => {
                peer.send(&joined);
            }
            Some(since) => {
                let (slice, complete) = st.after(since);
                crate::metrics::resume(complete);
                let from = slice.first().map_or(st.head + 1, |s| s.msg.seq);
                let bracket = ServerMsg::Replay {
                    room: room.name.to_string(),
                    from,
                    to: st.head,
                    complete,
                    epoch: String::new(),
                };
                let mut batch = Vec::with_capacity(slice.len() + 2);
                batch.push(joined.to_json().into());
                batch.push(bracket.to_json().into());
                batch.extend(slice.iter().map(|s| s.frame.clone()));
                peer.deliver(Outbound::Batch(batch));
            }
        }
        if newly_present {
            st.presence(&room.name, name, PresenceState::Joined, Some(peer.id));
        }
        Ok(())
    }

    /// Adds a classic client to `room`: it receives messages in the `{user, message}` shape and
    /// takes no part in presence.
    pub fn join_classic(&self, peer: &Peer, room: &str) -> Result<(), ValidationError> {
        let room = self.room_or_create(room)?;
        lock(&room.state).members.push(Member {
            peer: peer.clone(),
            name: None,
        });
        Ok(())
    }

    /// Removes `peer` from `room`; tells the others if its name is no longer present there.
    /// Returns whether it was a member.
    pub fn leave(&self, peer_id: u64, room: &str) -> bool {
        let Some(room) = self.room(room) else {
            return false;
        };
        let mut st = lock(&room.state);
        let Some(at) = st.members.iter().position(|m| m.peer.id == peer_id) else {
            return false;
        };
        let member = st.members.swap_remove(at);
        if let Some(name) = member.name {
            let gone = match st.present.get_mut(&name) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                _ => true,
            };
            if gone {
                st.present.remove(&name);
                st.presence(&room.name, &name, PresenceState::Left, None);
            }
        }
        true
    }

    /// Whether `peer_id` is a member of `room`.
    pub fn is_member(&self, peer_id: u64, room: &str) -> bool {
        self.room(room)
            .is_some_and(|r| lock(&r.state).members.iter().any(|m| m.peer.id == peer_id))
    }

    /// Stores a message and pushes it to every member of the room: the one path for WebSocket
    /// sends, HTTP posts and classic clients. Validates every field. A `client_id` already seen
    /// from the same `user` in this room within the dedupe window stores nothing and returns the
    /// original message with `duplicate: true`.
    pub fn post(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Posted, ValidationError> {
        let limits = &self.inner.cfg.limits;
        let room = limits.room(room)?;
        let user = limits.name(user)?;
        let text = limits.text(text)?;
        let client_id = client_id.map(|c| limits.client_id(c)).transpose()?;

        let room = self.room_or_create(room)?;
        let now = Instant::now();
        let mut st = lock(&room.state);
        let key = client_id.map(|c| dedupe_key(user, c));
        if let Some(key) = &key
            && let Some(stored) = st.dedupe.get(key, now, &self.inner.cfg)
        {
            return Ok(Posted {
                stored,
                duplicate: true,
            });
        }

        st.head += 1;
        let msg = ChatMessage {
            room: room.name.to_string(),
            seq: st.head,
            id: uuid::Uuid::now_v7().to_string(),
            user: user.to_owned(),
            text: text.to_owned(),
            ts: now_ms(),
        };
        let frame: Frame = ServerMsg::message_json(&msg).into();
        let stored = Arc::new(Stored { msg, frame });

        st.history.push_back(stored.clone());
        while st.history.len() > self.inner.cfg.history.max(1) {
            st.history.pop_front();
        }
        if let Some(key) = key {
            st.dedupe.insert(key, stored.clone(), now, &self.inner.cfg);
        }

        let fanout_started = std::time::Instant::now();
        let mut classic: Option<Frame> = None;
        for member in &st.members {
            let frame = if member.name.is_some() {
                stored.frame.clone()
            } else {
                classic
                    .get_or_insert_with(|| ClassicMsg::json_from(&stored.msg).into())
                    .clone()
            };
            member.peer.deliver(Outbound::Frame(frame));
        }
        crate::metrics::fanout(st.members.len(), fanout_started.elapsed());
        Ok(Posted {
            stored,
            duplicate: false,
        })
    }

    /// Tells the other members of `room` that `name` is typing.
    pub fn typing(&self, peer_id: u64, room: &str, name: &Arc<str>) {
        if let Some(room) = self.room(room) {
            lock(&room.state).presence(&room.name, name, PresenceState::Typing, Some(peer_id));
        }
    }

    /// Makes `peer` reachable by direct messages to `name`.
    pub fn register_user(&self, name: &Arc<str>, peer: &Peer) {
        lock(&self.inner.users)
            .entry(name.clone())
            .or_default()
            .push(peer.clone());
    }

    fn unregister_user(&self, name: &str, peer_id: u64) {
        let mut users = lock(&self.inner.users);
        if let Some(peers) = users.get_mut(name) {
            peers.retain(|p| p.id != peer_id);
            if peers.is_empty() {
                users.remove(name);
            }
        }
    }

    /// Sends a private message from `from` to every connection of `to`, and a copy (echoing
    /// `client_id`) to every connection of `from`. Not stored.
    pub fn direct(
        &self,
        from: &str,
        to: &str,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<(), ValidationError> {
        let limits = &self.inner.cfg.limits;
        let to = limits.name(to)?;
        let text = limits.text(text)?;
        let client_id = client_id.map(|c| limits.client_id(c)).transpose()?;
        let users = lock(&self.inner.users);
        let Some(recipients) = users.get(to) else {
            return Err(invalid(
                ErrorCode::UnknownUser,
                format!("no user named `{to}` is connected"),
            ));
        };
        let mut dm = DirectMessage {
            from: from.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            ts: now_ms(),
            client_id: None,
        };
        if from != to {
            let frame: Frame = ServerMsg::Direct(dm.clone()).to_json().into();
            for p in recipients {
                p.deliver(Outbound::Frame(frame.clone()));
            }
        }
        dm.client_id = client_id.map(str::to_owned);
        let frame: Frame = ServerMsg::Direct(dm).to_json().into();
        for p in users.get(from).into_iter().flatten() {
            p.deliver(Outbound::Frame(frame.clone()));
        }
        Ok(())
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
        if let Some(name) = name {
            self.unregister_user(name, peer_id);
        }
    }

    /// Messages after `since` (at most `limit`), for `GET /api/rooms/{room}/messages`.
    pub fn history(&self, room: &str, since: u64, limit: usize) -> MessagePage {
        let messages = match self.room(room) {
            None => {
                return MessagePage {
                    epoch: String::new(),
                    room: room.to_owned(),
                    messages: Vec::new(),
                    complete: since == 0,
                };
            }
            Some(r) => {
                let st = lock(&r.state);
                let (slice, complete) = st.after(since);
                let messages: Vec<Arc<Stored>> = slice.iter().take(limit).cloned().collect();
                (messages, complete)
            }
        };
        MessagePage {
            epoch: String::new(),
            room: room.to_owned(),
            complete: messages.1,
            messages: messages.0.iter().map(|s| s.msg.clone()).collect(),
        }
    }

    /// Every room with its head and present-user count, sorted by name.
    pub fn rooms(&self) -> RoomList {
        let rooms: Vec<Arc<Room>> = lock(&self.inner.rooms).values().cloned().collect();
        let mut rooms: Vec<RoomSummary> = rooms
            .iter()
            .map(|r| {
                let st = lock(&r.state);
                RoomSummary {
                    room: r.name.to_string(),
                    head: st.head,
                    users: st.present.len(),
                }
            })
            .collect();
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        RoomList { rooms }
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

impl RoomState {
    /// The stored messages after `since`, and whether history still holds all of them.
    ///
    /// A `since` ahead of `head` (the client saw a previous life of this room, e.g. before a
    /// restart of a server without persistence) yields the whole history, marked incomplete.
    fn after(&self, since: u64) -> (Vec<Arc<Stored>>, bool) {
        if since > self.head {
            return (self.history.iter().cloned().collect(), false);
        }
        let first = self.history.front().map_or(self.head + 1, |s| s.msg.seq);
        let complete = first <= since + 1;
        let skip = (since + 1).saturating_sub(first) as usize;
        (self.history.iter().skip(skip).cloned().collect(), complete)
    }

    /// Sends a presence frame to every typed member except `except`.
    fn presence(&self, room: &str, user: &str, state: PresenceState, except: Option<u64>) {
        let frame: Frame = ServerMsg::Presence {
            room: room.to_owned(),
            user: user.to_owned(),
            state,
        }
        .to_json()
        .into();
        for m in &self.members {
            if m.name.is_some() && Some(m.peer.id) != except {
                m.peer.deliver(Outbound::Frame(frame.clone()));
            }
        }
    }
}

fn dedupe_key(user: &str, client_id: &str) -> Arc<str> {
    format!("{user}\u{0}{client_id}").into()
}

/// Recently seen `(user, client_id)` pairs of one room, bounded in time and count.
#[derive(Default)]
struct Dedupe {
    map: HashMap<Arc<str>, Arc<Stored>>,
    order: VecDeque<(Arc<str>, Instant)>,
}

impl Dedupe {
    fn expire(&mut self, now: Instant, cfg: &HubConfig) {
        while let Some((key, at)) = self.order.front() {
            if now.duration_since(*at) < cfg.dedupe_window
                && self.order.len() <= cfg.dedupe_capacity
            {
                break;
            }
            self.map.remove(key);
            self.order.pop_front();
        }
    }

    fn get(&mut self, key: &str, now: Instant, cfg: &HubConfig) -> Option<Arc<Stored>> {
        self.expire(now, cfg);
        self.map.get(key).cloned()
    }

    fn insert(&mut self, key: Arc<str>, stored: Arc<Stored>, now: Instant, cfg: &HubConfig) {
        if cfg.dedupe_capacity == 0 {
            return;
        }
        self.map.insert(key.clone(), stored);
        self.order.push_back((key, now));
        self.expire(now, cfg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(tune: impl FnOnce(&mut HubConfig)) -> Hub {
        let mut cfg = HubConfig::default();
        tune(&mut cfg);
        Hub::new(cfg)
    }

    fn drain(peer: &Peer) -> Vec<String> {
        let mut out = Vec::new();
        let mut taken = VecDeque::new();
        peer.outbox().take(&mut taken);
        for o in taken {
            match o {
                Outbound::Frame(f) => out.push(f.to_string()),
                Outbound::Batch(fs) => out.extend(fs.iter().map(|f| f.to_string())),
            }
        }
        out
    }

    fn seqs(frames: &[String]) -> Vec<u64> {
        frames
            .iter()
            .filter_map(|f| match serde_json::from_str(f) {
                Ok(ServerMsg::Message(m)) => Some(m.seq),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn seq_is_gap_free_per_room_and_history_is_bounded() {
        let hub = hub(|c| c.history = 3);
        for i in 1..=5 {
            let p = hub.post("a", "ada", &format!("m{i}"), None).unwrap();
            assert_eq!(p.stored.msg.seq, i);
        }
        assert_eq!(
            hub.post("b", "ada", "other room", None)
                .unwrap()
                .stored
                .msg
                .seq,
            1
        );
        let page = hub.history("a", 0, 100);
        assert_eq!(
            page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert!(!page.complete);
        assert!(hub.history("a", 2, 100).complete);
        assert_eq!(hub.history("a", 3, 1).messages[0].seq, 4);
    }

    #[tokio::test]
    async fn every_member_gets_the_same_shared_frame_in_order() {
        let hub = hub(|_| {});
        let a = hub.new_peer();
        let b = hub.new_peer();
        hub.join(&a, "lobby", &"ada".into(), None).unwrap();
        hub.join(&b, "lobby", &"bob".into(), None).unwrap();
        drain(&a);
        drain(&b);
        for i in 0..10 {
            hub.post("lobby", "ada", &format!("m{i}"), None).unwrap();
        }
        let (fa, fb) = (drain(&a), drain(&b));
        assert_eq!(seqs(&fa), (1..=10).collect::<Vec<_>>());
        assert_eq!(fa, fb);
    }

    #[tokio::test]
    async fn a_full_queue_kicks_only_that_member() {
        let hub = hub(|c| c.client_queue = 4);
        let slow = hub.new_peer();
        let fast = hub.new_peer();
        hub.join(&slow, "lobby", &"slow".into(), None).unwrap();
        hub.join(&fast, "lobby", &"fast".into(), None).unwrap();
        let mut got = Vec::new();
        for i in 0..20 {
            hub.post("lobby", "x", &format!("m{i}"), None).unwrap();
            got.extend(seqs(&drain(&fast)));
        }
        assert!(slow.outbox().is_kicked());
        assert!(!fast.outbox().is_kicked());
        assert_eq!(got, (1..=20).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeated_client_id_is_stored_once_within_the_window() {
        let hub = hub(|c| c.dedupe_window = Duration::from_secs(60));
        let first = hub.post("lobby", "ada", "hi", Some("c1")).unwrap();
        let again = hub.post("lobby", "ada", "hi", Some("c1")).unwrap();
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(again.stored.msg.seq, first.stored.msg.seq);
        // Another user may use the same client_id.
        assert!(
            !hub.post("lobby", "bob", "hi", Some("c1"))
                .unwrap()
                .duplicate
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        let later = hub.post("lobby", "ada", "hi", Some("c1")).unwrap();
        assert!(!later.duplicate, "forgotten after the window");
        assert_eq!(hub.history("lobby", 0, 10).messages.len(), 3);
    }

    #[tokio::test]
    async fn dedupe_capacity_bounds_memory() {
        let hub = hub(|c| c.dedupe_capacity = 2);
        for i in 0..3 {
            hub.post("lobby", "ada", "x", Some(&format!("c{i}")))
                .unwrap();
        }
        assert!(hub.post("lobby", "ada", "x", Some("c2")).unwrap().duplicate);
        assert!(!hub.post("lobby", "ada", "x", Some("c0")).unwrap().duplicate);
    }

    #[tokio::test]
    async fn presence_counts_a_name_once_across_connections() {
        let hub = hub(|_| {});
        let watcher = hub.new_peer();
        hub.join(&watcher, "lobby", &"w".into(), None).unwrap();
        let tab1 = hub.new_peer();
        let tab2 = hub.new_peer();
        hub.join(&tab1, "lobby", &"ada".into(), None).unwrap();
        hub.join(&tab2, "lobby", &"ada".into(), None).unwrap();
        assert_eq!(hub.rooms().rooms[0].users, 2);
        hub.leave(tab1.id(), "lobby");
        hub.leave(tab2.id(), "lobby");
        let frames = drain(&watcher);
        let states: Vec<String> = frames
            .iter()
            .filter(|f| f.contains("presence"))
            .map(|f| f.split("\"state\":").nth(1).unwrap_or("").to_owned())
            .collect();
        assert_eq!(states, ["\"joined\"}", "\"left\"}"]);
    }

    #[tokio::test]
    async fn classic_members_get_the_classic_shape() {
        let hub = hub(|_| {});
        let c = hub.new_peer();
        hub.join_classic(&c, "lobby").unwrap();
        hub.post("lobby", "ada", "hi", None).unwrap();
        assert_eq!(drain(&c), [r#"{"user":"ada","message":"hi"}"#]);
    }

    #[tokio::test]
    async fn the_room_limit_is_enforced() {
        let hub = hub(|c| c.max_rooms = 1);
        hub.post("a", "ada", "x", None).unwrap();
        let err = hub.post("b", "ada", "x", None).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRoom);
    }
}
