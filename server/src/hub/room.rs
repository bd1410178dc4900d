//! One loaded room: its members, presence, and hot window, and the synchronous publish that
//! fans a stored message out.
//!
//! Locking: everything here changes under the room's one `std::sync::Mutex`, and only cheap work
//! happens under it: a window push and a pointer copy per member (the frame was encoded once, by
//! the store, before publish). No store call and no `.await` happens under it.
//!
//! Publish is idempotent and ordered by `seq`: a message at or below `head` was already
//! published (ignored); one ahead of `head + 1` waits in `early` until the messages before it
//! arrive. While the room is loading (its head not yet read from the store), everything waits
//! in `early`, and what the store's head already counts is dropped when loading completes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use banter_protocol::{ClassicMsg, PresenceState, ServerMsg};

use super::budget::Budget;
use super::conversations::Members;
use super::peer::Peer;
use super::presence::Presence;
use super::presence_batch::PresenceBatch;
use crate::outbox::Outbound;
use crate::store::{Frame, RoomMeta, Stored};

/// Messages that may wait in `early` at most; past it the oldest are dropped (a member then
/// misses them live and gets them on resume). Only a store that completes far out of order
/// could fill it.
const EARLY_MAX: usize = 10_000;

/// Presence frame deliveries one room's flush makes at most (members × frames): a room of
/// 10,000 gets 3 presence frames per tick, one of 1,000 the full batch.
pub const PRESENCE_DELIVERIES: usize = 32_000;

/// See the module docs.
pub struct Room {
    pub name: Arc<str>,
    state: Mutex<RoomState>,
    /// Signalled when the room is loaded or unloaded (see [`Room::wait_settled`]).
    settled: Condvar,
}

pub struct Member {
    pub peer: Peer,
    /// `None` for a classic client, which chats under whatever `user` each message names.
    pub name: Option<Arc<str>>,
    /// Presence changes numbered after this one are news to this member (its `joined` showed
    /// the earlier ones).
    pub presence_since: u64,
}

pub struct RoomState {
    /// The head and epoch have been read from the store.
    pub loaded: bool,
    /// Removed from the hub's map: a joiner holding this room must look it up again.
    pub unloaded: bool,
    pub epoch: Arc<str>,
    pub head: u64,
    /// The newest messages, ascending and contiguous, ending at `head` (possibly empty).
    pub window: VecDeque<Arc<Stored>>,
    pub window_bytes: usize,
    early: BTreeMap<u64, Arc<Stored>>,
    pub members: Vec<Member>,
    pub presence: Presence,
    /// Presence changes not sent yet (see [`super::presence_batch`]).
    pub batch: PresenceBatch,
    /// Listed in the hub's rooms with pending presence.
    pub dirty: bool,
    /// A private conversation's members, once a member joined it.
    pub conversation: Option<Members>,
    /// v1.2: who may do what here, read with the head and kept current by the moderation
    /// entries published (see `crate::rooms::access`).
    pub access: Arc<crate::store::RoomAccess>,
    /// Names whose presence on this node a moderation entry ended (see `evict`): taken by
    /// `Rooms::publish`, which tells the store once the room's lock is released.
    pub departed: Vec<Arc<str>>,
}

impl Room {
    pub fn new(name: Arc<str>) -> Self {
        Room {
            name,
            settled: Condvar::new(),
            state: Mutex::new(RoomState {
                loaded: false,
                unloaded: false,
                epoch: "".into(),
                head: 0,
                window: VecDeque::new(),
                window_bytes: 0,
                early: BTreeMap::new(),
                members: Vec::new(),
                presence: Presence::default(),
                batch: PresenceBatch::default(),
                dirty: false,
                conversation: None,
                access: Arc::default(),
                departed: Vec::new(),
            }),
        }
    }

    /// Locks the room, recovering the data if a panicking thread poisoned it: its invariants
    /// hold between statements.
    pub fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocking (a join on the blocking pool): waits, at most `limit`, while the room is being
    /// loaded by the join that created it (only that one reads its meta from the store).
    pub fn wait_settled<'a>(
        &self,
        st: MutexGuard<'a, RoomState>,
        limit: Duration,
    ) -> MutexGuard<'a, RoomState> {
        self.settled
            .wait_timeout_while(st, limit, |st| !st.loaded && !st.unloaded)
            .map_or_else(|e| e.into_inner().0, |(st, _)| st)
    }

    /// The room was loaded or unloaded: wakes the joins waiting for it.
    pub fn settle(&self) {
        self.settled.notify_all();
    }
}

/// How a room's window is bounded.
pub struct WindowLimits<'a> {
    pub count: usize,
    pub budget: &'a Budget,
}

impl RoomState {
    /// Completes loading with what the store said, then publishes what arrived meanwhile.
    pub fn finish_load(
        &mut self,
        meta: &RoomMeta,
        access: crate::store::RoomAccess,
        lim: &WindowLimits<'_>,
    ) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        self.access = Arc::new(access);
        self.epoch = meta.epoch.clone();
        self.head = meta.head;
        self.drain_early(lim);
    }

    /// Publishes a stored message (see the module docs).
    pub fn publish(&mut self, stored: Arc<Stored>, lim: &WindowLimits<'_>) {
        let seq = stored.seq();
        if self.loaded && seq <= self.head {
            return;
        }
        if !self.loaded || seq > self.head + 1 {
            if self.early.len() >= EARLY_MAX {
                self.early.pop_first();
            }
            self.early.insert(seq, stored);
            return;
        }
        self.apply(stored, lim);
        self.drain_early(lim);
    }

    fn drain_early(&mut self, lim: &WindowLimits<'_>) {
        while let Some(entry) = self.early.first_entry() {
            let seq = *entry.key();
            if seq <= self.head {
                entry.remove();
            } else if seq == self.head + 1 {
                let stored = entry.remove();
                self.apply(stored, lim);
            } else {
                break;
            }
        }
    }

    /// Appends to the window and queues the shared frame to every member.
    fn apply(&mut self, stored: Arc<Stored>, lim: &WindowLimits<'_>) {
        self.head = stored.seq();
        super::fold::window(self, &stored, lim.budget);
        let weight = stored.weight();
        self.window.push_back(stored.clone());
        self.window_bytes += weight;
        lim.budget.add(weight);
        while self.window.len() > lim.count.max(1) || (lim.budget.over() && self.window.len() > 1) {
            self.evict_oldest(lim.budget);
        }
        let fanout_timer = crate::metrics::fanout_timer();
        let mut classic: Option<Frame> = None;
        for member in &self.members {
            let frame = if member.name.is_some() {
                stored.frame.clone()
            } else if let Some(m) = stored.msg() {
                classic
                    .get_or_insert_with(|| ClassicMsg::json_from(m).into())
                    .clone()
            } else {
                // Classic clients get new messages only, never changes.
                continue;
            };
            member.peer.deliver(Outbound::Frame(frame));
        }
        crate::metrics::fanout(self.members.len(), fanout_timer);
        if let crate::store::Entry::Change(c) = &stored.entry
            && crate::rooms::access::fold(Arc::make_mut(&mut self.access), c)
        {
            self.evict(c);
        }
    }

    /// After moderation entry `c` (already delivered to everyone here, the subject included):
    /// the connections it puts out get `removed` and leave the room, so nothing more reaches
    /// them from it; the others see them leave.
    fn evict(&mut self, c: &banter_protocol::Change) {
        let access = self.access.clone();
        let out = |m: &Member| match m.name.as_deref() {
            Some(n) => crate::rooms::access::evicts(&access, c, n),
            // A classic client has no name, so no role: a private room has no place for it.
            None => access.private,
        };
        if !self.members.iter().any(out) {
            return;
        }
        let removed: Frame = ServerMsg::Removed {
            room: c.room.clone(),
        }
        .to_json()
        .into();
        let (gone, kept): (Vec<Member>, Vec<Member>) =
            std::mem::take(&mut self.members).into_iter().partition(out);
        self.members = kept;
        for m in gone {
            if m.name.is_none() {
                // It speaks only `{user, message}`: it is closed instead.
                m.peer.outbox().kick();
                continue;
            }
            m.peer.deliver(Outbound::Frame(removed.clone()));
            if let Some(name) = &m.name {
                let change = self.presence.depart(name);
                if change.room {
                    self.announce(&c.room, name, PresenceState::Left, None);
                }
                if change.here {
                    self.departed.push(name.clone());
                }
            }
        }
    }

    fn evict_oldest(&mut self, budget: &Budget) {
        if let Some(old) = self.window.pop_front() {
            let w = old.weight();
            self.window_bytes -= w;
            budget.sub(w);
        }
    }

    /// Gives the window's bytes back (the room is being unloaded).
    pub fn release(&mut self, budget: &Budget) {
        budget.sub(self.window_bytes);
        self.window_bytes = 0;
        self.window.clear();
        self.early.clear();
    }

    /// The first `seq` the window holds (`head + 1` when empty).
    pub fn window_start(&self) -> u64 {
        self.window.front().map_or(self.head + 1, |s| s.seq())
    }

    /// The window's frames after `since` (the caller checked the window covers `since + 1`).
    pub fn window_after(&self, since: u64) -> impl Iterator<Item = Frame> + '_ {
        let skip = (since + 1).saturating_sub(self.window_start()) as usize;
        self.window.iter().skip(skip).map(|s| s.frame.clone())
    }

    pub fn is_member(&self, peer_id: u64) -> bool {
        self.members.iter().any(|m| m.peer.id() == peer_id)
    }

    /// Sends a presence frame to every typed member at once, outside the per-tick batch: for
    /// what other nodes report (a cluster's presence sync, every few seconds), not for local
    /// joins and leaves.
    pub fn announce(&self, room: &str, user: &str, state: PresenceState, except: Option<u64>) {
        let frame = super::presence::frame(room, user, state);
        for m in &self.members {
            if m.name.is_some() && Some(m.peer.id()) != except {
                m.peer.deliver(Outbound::Frame(frame.clone()));
            }
        }
    }

    /// Queues up to `max` pending presence frames to the typed members (each as one outbox
    /// entry, without the frames a member caused itself), fewer in a big room so that one
    /// flush delivers at most [`PRESENCE_DELIVERIES`] frames. Returns whether some remain.
    pub fn flush_presence(&mut self, room: &str, max: usize) -> bool {
        let max = max.min((PRESENCE_DELIVERIES / self.members.len().max(1)).max(1));
        let frames = self.batch.flush(room, max);
        if !frames.is_empty() {
            for m in self.members.iter().filter(|m| m.name.is_some()) {
                let id = Some(m.peer.id());
                let mine: Vec<Frame> = frames
                    .iter()
                    .filter(|f| f.except != id && f.seq > m.presence_since)
                    .map(|f| f.frame.clone())
                    .collect();
                if !mine.is_empty() {
                    m.peer.deliver(Outbound::Batch(mine));
                }
            }
        }
        !self.batch.is_empty()
    }

    /// The `joined` frame for this room now, as `viewer` sees it: the first `max_users` present
    /// names, and the total when that is not all of them; in a conversation, the other member.
    pub fn joined(&self, room: &str, max_users: usize, viewer: &str) -> ServerMsg {
        let (users, all) = self.presence.names(max_users);
        ServerMsg::Joined {
            room: room.to_owned(),
            users,
            head: self.head,
            epoch: self.epoch.to_string(),
            users_total: (!all).then_some(self.presence.len() as u64),
            with: self
                .conversation
                .as_ref()
                .map(|m| m.other(viewer).to_string()),
            read: 0,
            role: crate::rooms::access::standing(&self.access, viewer).role,
            private: self.access.private,
        }
    }
}
