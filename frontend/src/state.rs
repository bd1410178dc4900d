//! The client's domain state in plain Rust: no DOM, no signals, no I/O.
//!
//! [`Session`] is a small sans-IO state machine. The socket module feeds it what happens
//! ([`Session::handle`] for each server frame, [`Session::disconnected`] when the link drops) and
//! writes out the [`ClientMsg`] frames it returns; the views only read it. Keeping it apart from
//! Leptos is what lets `wasm-bindgen-test` (and plain `cargo test`) check the resume and
//! pending-send rules directly.
//!
//! Invariants:
//! - a room's messages are keyed by `seq`: a replayed or repeated `message` is stored once;
//! - the resume point of a room is the highest `seq` ever seen there, even after old messages
//!   were evicted from memory;
//! - a send keeps its `client_id` for life, so re-sending it after a reconnect can never store it
//!   twice (the server acks a repeated `client_id` with the same `seq`).

use std::collections::BTreeMap;
use std::sync::Arc;

use banter_protocol::{
    ChatMessage, ClientMsg, DEFAULT_ROOM, ErrorCode, Limits, PresenceState, ServerMsg,
};

/// How many messages a room keeps in memory; older ones are dropped (the resume point stays).
pub const KEEP_PER_ROOM: usize = 10_000;

/// A room's messages, keyed and ordered by `seq`.
#[derive(Debug, Clone)]
pub struct MessageStore {
    messages: BTreeMap<u64, Arc<ChatMessage>>,
    high_seq: u64,
    cap: usize,
}

impl Default for MessageStore {
    fn default() -> Self {
        MessageStore::with_cap(KEEP_PER_ROOM)
    }
}

impl MessageStore {
    /// An empty store that keeps at most `cap` messages (at least one).
    pub fn with_cap(cap: usize) -> Self {
        MessageStore {
            messages: BTreeMap::new(),
            high_seq: 0,
            cap: cap.max(1),
        }
    }

    /// Stores `msg` unless its `seq` is already here (or older than everything kept after an
    /// eviction). Returns whether it was new.
    pub fn insert(&mut self, msg: ChatMessage) -> bool {
        let seq = msg.seq;
        if self.messages.contains_key(&seq) {
            return false;
        }
        if self.messages.len() >= self.cap
            && self
                .messages
                .first_key_value()
                .is_some_and(|(&low, _)| seq < low)
        {
            return false;
        }
        self.messages.insert(seq, Arc::new(msg));
        self.high_seq = self.high_seq.max(seq);
        while self.messages.len() > self.cap {
            self.messages.pop_first();
        }
        true
    }

    /// The highest `seq` seen in this room: the `since` to resume from.
    pub fn high_seq(&self) -> u64 {
        self.high_seq
    }

    /// How many messages are held.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is held.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Whether the message with this `seq` is held.
    pub fn contains(&self, seq: u64) -> bool {
        self.messages.contains_key(&seq)
    }

    /// The newest `n` messages, oldest first (what the view renders).
    pub fn last(&self, n: usize) -> Vec<Arc<ChatMessage>> {
        let skip = self.messages.len().saturating_sub(n);
        self.messages.values().skip(skip).cloned().collect()
    }

    /// What the view shows, oldest first: the newest `newest` messages, or, when the reader
    /// holds a place (scrolled up, or asked for earlier messages), up to `held_max` messages from
    /// `first` on. Either way the DOM stays bounded.
    pub fn window(
        &self,
        first: Option<u64>,
        newest: usize,
        held_max: usize,
    ) -> Vec<Arc<ChatMessage>> {
        match first {
            Some(first) => self
                .messages
                .range(first..)
                .take(held_max)
                .map(|(_, m)| m.clone())
                .collect(),
            None => self.last(newest),
        }
    }

    /// The `seq` `n` messages before `seq` (or the oldest held): where "show earlier" starts.
    pub fn seq_before(&self, seq: u64, n: usize) -> Option<u64> {
        self.messages
            .range(..seq)
            .rev()
            .take(n)
            .last()
            .map(|(&s, _)| s)
            .or_else(|| self.messages.first_key_value().map(|(&s, _)| s))
    }

    /// Forgets everything, resume point included (the server lost its history).
    pub fn reset(&mut self) {
        self.messages.clear();
        self.high_seq = 0;
    }
}

/// Where a pending send stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingState {
    /// Not written on the current connection yet (offline, or not joined yet).
    Queued,
    /// Written; waiting for its `ack`.
    InFlight,
    /// Refused by the server; the reason is for the user, who may retry or discard it.
    Failed(String),
}

/// A message the user sent that the server has not acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    /// Chosen once, kept on every re-send: the idempotency key.
    pub client_id: String,
    pub room: String,
    pub text: String,
    pub state: PendingState,
}

impl PendingSend {
    /// A key that changes when the send's state does (for keyed view lists).
    pub fn view_key(&self) -> String {
        let state = match self.state {
            PendingState::Queued => "q",
            PendingState::InFlight => "f",
            PendingState::Failed(_) => "x",
        };
        format!("{}:{state}", self.client_id)
    }

    fn frame(&self) -> ClientMsg {
        ClientMsg::Send {
            room: self.room.clone(),
            text: self.text.clone(),
            client_id: Some(self.client_id.clone()),
        }
    }
}

/// Sends waiting for their `ack`, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct PendingSends {
    items: Vec<PendingSend>,
}

impl PendingSends {
    /// Adds a new queued send.
    pub fn add(&mut self, client_id: String, room: String, text: String) {
        self.items.push(PendingSend {
            client_id,
            room,
            text,
            state: PendingState::Queued,
        });
    }

    /// The server stored `client_id`: forget it. Returns the send if it was pending.
    pub fn ack(&mut self, client_id: &str) -> Option<PendingSend> {
        let at = self.items.iter().position(|p| p.client_id == client_id)?;
        Some(self.items.remove(at))
    }

    /// The server refused `client_id`. Returns whether it was pending.
    pub fn fail(&mut self, client_id: &str, reason: String) -> bool {
        match self.items.iter_mut().find(|p| p.client_id == client_id) {
            Some(p) => {
                p.state = PendingState::Failed(reason);
                true
            }
            None => false,
        }
    }

    /// The connection dropped: whatever was in flight must be written again.
    pub fn requeue(&mut self) {
        for p in &mut self.items {
            if p.state == PendingState::InFlight {
                p.state = PendingState::Queued;
            }
        }
    }

    /// Marks the queued sends of `room` in flight and returns their frames, same `client_id`s.
    pub fn flush(&mut self, room: &str) -> Vec<ClientMsg> {
        self.items
            .iter_mut()
            .filter(|p| p.room == room && p.state == PendingState::Queued)
            .map(|p| {
                p.state = PendingState::InFlight;
                p.frame()
            })
            .collect()
    }

    /// Puts a failed send back in the queue.
    pub fn retry(&mut self, client_id: &str) -> bool {
        match self.items.iter_mut().find(|p| p.client_id == client_id) {
            Some(p) if matches!(p.state, PendingState::Failed(_)) => {
                p.state = PendingState::Queued;
                true
            }
            _ => false,
        }
    }

    /// Drops a send the user gave up on.
    pub fn discard(&mut self, client_id: &str) {
        self.items.retain(|p| p.client_id != client_id);
    }

    /// The pending sends of `room`, oldest first.
    pub fn in_room<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a PendingSend> + 'a {
        self.items.iter().filter(move |p| p.room == room)
    }

    /// How many sends are pending, all rooms together.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// What the client knows about one room.
#[derive(Debug, Clone, Default)]
pub struct RoomState {
    pub store: MessageStore,
    /// Who is present (from `joined`, then `presence`): each name once, in arrival order. A
    /// `Vec`, not a set: the list is small and a set's sort would grow the WASM.
    pub users: Vec<String>,
    /// Joined on the current connection.
    pub joined: bool,
    /// History could not give back everything (`replay.complete == false`).
    pub gap: Option<Gap>,
}

/// Why some messages are missing, for the notice the view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// The first load: the server keeps only the most recent messages.
    OlderNotKept,
    /// Messages sent while this client was away are no longer held by the server.
    MissedWhileAway,
    /// The server's history restarted (its latest `seq` is behind ours).
    ServerReset,
}

impl Gap {
    /// A sentence for the user.
    pub fn describe(self) -> &'static str {
        match self {
            Gap::OlderNotKept => "Older messages are no longer kept by the server.",
            Gap::MissedWhileAway => {
                "Some messages sent while you were away are no longer available."
            }
            Gap::ServerReset => "The server restarted and its history was reset.",
        }
    }
}

/// The whole client: who we are, where we are, what we have seen and what we still owe.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user's name, once chosen.
    pub name: Option<String>,
    /// The room on screen.
    pub room: String,
    rooms: BTreeMap<String, RoomState>,
    pub pending: PendingSends,
    /// The server's limits (defaults until `welcome`).
    pub limits: Limits,
    /// `welcome` received on the current connection.
    pub welcomed: bool,
    /// The name the current connection joined under (one connection is one user).
    joined_as: Option<String>,
    /// A refusal not tied to a send (bad name, bad room…), for a notice.
    pub notice: Option<String>,
    /// The server refused the name itself: ask for another one.
    pub name_refused: Option<String>,
    /// The server refused this connection's `join`: the next name needs a fresh connection.
    refused_on_this_connection: bool,
    client_prefix: String,
    next_client_id: u64,
}

impl Session {
    /// A fresh session. `client_prefix` makes this page's `client_id`s unique (random per load).
    pub fn new(client_prefix: impl Into<String>) -> Self {
        Session {
            name: None,
            room: DEFAULT_ROOM.to_string(),
            rooms: BTreeMap::new(),
            pending: PendingSends::default(),
            limits: Limits::default(),
            welcomed: false,
            joined_as: None,
            notice: None,
            name_refused: None,
            refused_on_this_connection: false,
            client_prefix: client_prefix.into(),
            next_client_id: 0,
        }
    }

    /// The state of `room`, if anything is known about it.
    pub fn room_state(&self, room: &str) -> Option<&RoomState> {
        self.rooms.get(room)
    }

    /// The state of the room on screen.
    pub fn current(&self) -> Option<&RoomState> {
        self.rooms.get(&self.room)
    }

    fn room_mut(&mut self, room: &str) -> &mut RoomState {
        self.rooms.entry(room.to_string()).or_default()
    }

    /// The resume point of `room`: the highest `seq` seen there (0 when none).
    pub fn resume_point(&self, room: &str) -> u64 {
        self.rooms.get(room).map_or(0, |r| r.store.high_seq())
    }

    /// The `join` for the room on screen, resuming after what was already seen.
    fn join_frame(&self) -> Option<ClientMsg> {
        let name = self.name.clone()?;
        Some(ClientMsg::Join {
            room: self.room.clone(),
            name,
            since: Some(self.resume_point(&self.room)),
            epoch: None,
        })
    }

    fn join_now(&mut self) -> Vec<ClientMsg> {
        match self.join_frame() {
            Some(join) if self.welcomed => {
                self.joined_as = self.name.clone();
                vec![join]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the user's name differs from the one the current connection chats under, so a
    /// reconnect is needed to take it (the server fixes a connection's name at its first join).
    pub fn needs_reconnect_for_name(&self) -> bool {
        self.refused_on_this_connection
            || matches!((&self.joined_as, &self.name), (Some(a), Some(b)) if a != b)
    }

    /// Sets the user's name (trimmed) after checking it; returns the frames to write.
    pub fn set_name(&mut self, name: &str) -> Result<Vec<ClientMsg>, String> {
        let name = self.limits.name(name).map_err(|e| e.message)?.to_string();
        self.name = Some(name);
        self.name_refused = None;
        if self.joined_as.is_some() {
            // Either already joined under this name, or a reconnect will take the new one.
            return Ok(Vec::new());
        }
        Ok(self.join_now())
    }

    /// Shows `room` instead of the current one: leave the old room, join the new one resuming
    /// after what this page already saw there.
    pub fn switch_room(&mut self, room: &str) -> Result<Vec<ClientMsg>, String> {
        let room = self.limits.room(room).map_err(|e| e.message)?.to_string();
        if room == self.room {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let old = std::mem::replace(&mut self.room, room);
        if let Some(state) = self.rooms.get_mut(&old)
            && state.joined
        {
            state.joined = false;
            out.push(ClientMsg::Leave { room: old });
        }
        out.extend(self.join_now());
        Ok(out)
    }

    /// Checks and queues a message for the room on screen. Returns the `send` frames to write now
    /// (none when offline or not joined yet: it goes out after the next `joined`).
    pub fn compose(&mut self, text: &str) -> Result<Vec<ClientMsg>, String> {
        if self.name.is_none() {
            return Err("choose a name first".into());
        }
        let text = self.limits.text(text).map_err(|e| e.message)?.to_string();
        self.next_client_id += 1;
        let client_id = format!("{}-{}", self.client_prefix, self.next_client_id);
        let room = self.room.clone();
        self.pending.add(client_id, room.clone(), text);
        let joined = self.rooms.get(&room).is_some_and(|r| r.joined);
        Ok(if joined {
            self.pending.flush(&room)
        } else {
            Vec::new()
        })
    }

    /// Queues a failed send again; returns its frame if it can go now.
    pub fn retry(&mut self, client_id: &str) -> Vec<ClientMsg> {
        if !self.pending.retry(client_id) {
            return Vec::new();
        }
        let room = self.room.clone();
        if self.rooms.get(&room).is_some_and(|r| r.joined) {
            self.pending.flush(&room)
        } else {
            Vec::new()
        }
    }

    /// The connection dropped: nothing is joined any more, in-flight sends go back in the queue.
    pub fn disconnected(&mut self) {
        self.welcomed = false;
        self.refused_on_this_connection = false;
        self.joined_as = None;
        for room in self.rooms.values_mut() {
            room.joined = false;
            room.users.clear();
        }
        self.pending.requeue();
    }

    /// Applies one server frame; returns the frames to write in answer.
    pub fn handle(&mut self, msg: ServerMsg) -> Vec<ClientMsg> {
        match msg {
            ServerMsg::Welcome { limits, .. } => {
                self.limits = limits;
                self.welcomed = true;
                self.join_now()
            }
            ServerMsg::Joined {
                room, users, head, ..
            } => {
                if room != self.room {
                    // A late answer for a room the user already left (our `leave` follows it).
                    return Vec::new();
                }
                let state = self.room_mut(&room);
                state.joined = true;
                state.users.clear();
                for user in users {
                    if !state.users.contains(&user) {
                        state.users.push(user);
                    }
                }
                if head < state.store.high_seq() {
                    // We have seen further than the server's latest: it lost its history and
                    // numbers from 1 again. What we hold would collide with the new seqs.
                    state.store.reset();
                    state.gap = Some(Gap::ServerReset);
                }
                self.notice = None;
                self.pending.flush(&room)
            }
            ServerMsg::Message(m) => {
                let room = m.room.clone();
                self.room_mut(&room).store.insert(m);
                Vec::new()
            }
            ServerMsg::Replay { room, complete, .. } => {
                if !complete {
                    let state = self.room_mut(&room);
                    if state.gap != Some(Gap::ServerReset) {
                        state.gap = Some(if state.store.is_empty() {
                            Gap::OlderNotKept
                        } else {
                            Gap::MissedWhileAway
                        });
                    }
                }
                Vec::new()
            }
            ServerMsg::Ack { client_id, .. } => {
                self.pending.ack(&client_id);
                Vec::new()
            }
            ServerMsg::Presence { room, user, state } => {
                let r = self.room_mut(&room);
                match state {
                    PresenceState::Joined => {
                        if !r.users.contains(&user) {
                            r.users.push(user);
                        }
                    }
                    PresenceState::Left => {
                        r.users.retain(|u| *u != user);
                    }
                    PresenceState::Typing => {}
                }
                Vec::new()
            }
            ServerMsg::Error {
                code,
                message,
                client_id,
            } => {
                if let Some(id) = client_id
                    && self.pending.fail(&id, message.clone())
                {
                    return Vec::new();
                }
                match code {
                    ErrorCode::InvalidName | ErrorCode::NameTaken => {
                        self.name_refused = Some(message);
                        self.refused_on_this_connection = true;
                    }
                    _ => self.notice = Some(message),
                }
                Vec::new()
            }
            // No direct-message view yet; unknown future frames never reach here (they fail
            // to decode and are skipped by the socket).
            ServerMsg::Direct(_) => Vec::new(),
        }
    }
}

/// The room named by the address fragment: `#/r/NAME`, or `lobby` for an empty fragment.
///
/// Returns an error sentence for a fragment that names a room badly.
pub fn room_from_hash(hash: &str, limits: &Limits) -> Result<String, String> {
    let path = hash.trim_start_matches('#');
    if path.is_empty() || path == "/" {
        return Ok(DEFAULT_ROOM.to_string());
    }
    let Some(name) = path.strip_prefix("/r/") else {
        return Err(format!("“{path}” is not a room address; use #/r/NAME"));
    };
    let name = name.trim_end_matches('/');
    limits.room(name).map(str::to_string).map_err(|e| e.message)
}

/// The address fragment of `room`.
pub fn hash_for_room(room: &str) -> String {
    format!("#/r/{room}")
}

/// The delay before reconnect attempt `attempt` (1, 2, …): exponential from 1 s, capped at
/// 30 s, with "equal jitter" (`rand01` in 0..1 picks a point in the upper half) so that many
/// clients dropped at once do not come back in lockstep.
pub fn backoff_ms(attempt: u32, rand01: f64) -> u32 {
    const BASE_MS: u32 = 1_000;
    const CAP_MS: u32 = 30_000;
    let exp = attempt.saturating_sub(1).min(16);
    let full = BASE_MS.saturating_mul(1 << exp).min(CAP_MS);
    let half = full / 2;
    let jitter = (f64::from(half) * rand01.clamp(0.0, 1.0)) as u32;
    half + jitter
}

/// How many characters a message counts for the limit (after trimming, like the server).
pub fn text_len(text: &str) -> usize {
    text.trim().chars().count()
}

/// Whether the character counter should show: from 80 % of the limit.
pub fn counter_visible(len: usize, limits: &Limits) -> bool {
    len * 5 >= limits.max_text_chars * 4
}

#[cfg(test)]
mod tests;
