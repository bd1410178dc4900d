//! [`Core`]: the rooms a client follows and the sends it owes, driven by the server's frames.
//!
//! The client's socket code hands each server frame to the matching method and writes out the
//! frames it returns; the core does no I/O and keeps no clock. The rules:
//! - **Resume by `seq`.** Each room's resume point is the highest `seq` up to which every entry
//!   (message or v1.2 `change`) was seen there; its `join` carries it as `since`, with the
//!   `epoch` it belongs to.
//! - **Epoch reset.** A `joined` (or `replay`) naming another epoch, or a head behind the resume
//!   point, means the room's history is another life: what was held is dropped and the room
//!   counts from 0 ([`Joined::reset`]).
//! - **Dedupe.** A `message` or `change` whose `seq` was seen is a repeat (a replay overlapping
//!   what came live, a page overlapping frames) and is dropped: each entry is taken once.
//! - **Fold** (v1.2). Changes and replies fold into the messages held ([`crate::fold`]);
//!   messages of a replay or a page come in their current state and are not folded twice.
//! - **Pending sends** keep their `client_id` for life, are written only once their room is
//!   joined on the current connection, one in flight per room, in the order written, and are
//!   written again after a reconnect until their `ack` ([`crate::PendingSends`]).

use std::sync::Arc;

use banter_protocol::ClientMsg;
use banter_protocol::http::MessagePage;
use banter_protocol::{Change, ChatMessage};

use crate::{Gap, PendingOp, PendingSend, PendingSends, RoomSync};

/// What a `joined` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The room's history was another life: the messages held were dropped.
    pub reset: bool,
    /// The room's next pending send, now that it may be written.
    pub send: Option<ClientMsg>,
}

/// What an `ack` settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// The send it acknowledged, if it was pending.
    pub send: Option<PendingSend>,
    /// The next pending send of the same room, now that it may be written.
    pub next: Option<ClientMsg>,
}

/// What a new `change` entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// Its target as folded now, when the room holds it.
    pub target: Option<Arc<ChatMessage>>,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Core {
    /// By id, in the order first followed. A list, not a map: a client follows few rooms, and a
    /// second map type would cost the web app's WASM several KB.
    rooms: Vec<(String, RoomSync)>,
    pending: PendingSends,
    /// Messages kept per room (0: none, only the resume point).
    keep: usize,
}

impl Core {
    /// A client keeping up to `keep_per_room` messages of each room (0 for none).
    pub fn new(keep_per_room: usize) -> Self {
        Core {
            rooms: Vec::new(),
            pending: PendingSends::default(),
            keep: keep_per_room,
        }
    }

    /// What the core knows of `room`, if anything.
    pub fn room(&self, room: &str) -> Option<&RoomSync> {
        self.rooms.iter().find(|(id, _)| id == room).map(|(_, r)| r)
    }

    fn get_mut(&mut self, room: &str) -> Option<&mut RoomSync> {
        self.rooms
            .iter_mut()
            .find(|(id, _)| id == room)
            .map(|(_, r)| r)
    }

    /// `room`, added (from after `since`) when new.
    fn entry(&mut self, room: &str, since: Option<u64>) -> &mut RoomSync {
        let at = match self.rooms.iter().position(|(id, _)| id == room) {
            Some(at) => at,
            None => {
                self.rooms
                    .push((room.to_string(), RoomSync::new(self.keep, since)));
                self.rooms.len() - 1
            }
        };
        &mut self.rooms[at].1
    }

    /// Every room known, by id, in the order first followed.
    pub fn rooms(&self) -> impl Iterator<Item = (&String, &RoomSync)> {
        self.rooms.iter().map(|(id, r)| (id, r))
    }

    /// The sends not acked yet, in the order written.
    pub fn pending(&self) -> &PendingSends {
        &self.pending
    }

    fn room_mut(&mut self, room: &str) -> &mut RoomSync {
        self.entry(room, Some(0))
    }

    /// Follows `room`: with `since`, its first replay starts after that `seq`; without, it starts
    /// at the room's head when joined (only new messages). A room already followed keeps its
    /// resume point.
    pub fn follow(&mut self, room: &str, since: Option<u64>) {
        self.entry(room, since);
    }

    /// Stops following `room`: forgets it and its sends. Returns whether it was joined (so a
    /// `leave` is due).
    pub fn leave(&mut self, room: &str) -> bool {
        self.pending.discard_room(room);
        let Some(at) = self.rooms.iter().position(|(id, _)| id == room) else {
            return false;
        };
        self.rooms.remove(at).1.joined
    }

    /// The `since` and `epoch` of `room`'s next `join` (an unknown room: from the start).
    pub fn resume(&self, room: &str) -> (Option<u64>, Option<String>) {
        match self.room(room) {
            Some(r) => (r.resume_point(), r.resume_epoch()),
            None => (Some(0), None),
        }
    }

    /// The `join` of `room` as `name`, resuming after what was already seen.
    pub fn join_frame(&self, room: &str, name: &str) -> ClientMsg {
        let (since, epoch) = self.resume(room);
        ClientMsg::Join {
            room: room.to_string(),
            name: name.to_string(),
            since,
            epoch,
            with: None,
        }
    }

    /// A `joined`: the room is joined on this connection; its history is checked against what we
    /// hold (see [`Joined::reset`]); its pending sends may go.
    pub fn joined(&mut self, room: &str, head: u64, epoch: &str) -> Joined {
        let state = self.room_mut(room);
        let reset = state.take_life(head, epoch);
        state.start_at(head);
        state.joined = true;
        Joined {
            reset,
            send: self.pending.next(room),
        }
    }

    /// A `replay` header without its `from` (kept for callers written before v1.2; prefer
    /// [`Core::replay_range`]): when incomplete, the replay's first entry shows where what the
    /// server holds begins.
    pub fn replay(&mut self, room: &str, to: u64, epoch: &str, complete: bool) -> Option<Gap> {
        let gap = self.replay_range(room, 0, to, epoch, complete);
        if !complete && let Some(state) = self.get_mut(room) {
            state.replaying_from_unknown();
        }
        gap
    }

    /// A `replay` header for `from..=to`: checked like a `joined`; `complete: false` names what
    /// is missing, and the entries before `from` that were never seen count as gone (so the
    /// resume point passes them). Its messages come in their current state. Returns the gap to
    /// tell, if any (a reset is [`Gap::ServerReset`]).
    pub fn replay_range(
        &mut self,
        room: &str,
        from: u64,
        to: u64,
        epoch: &str,
        complete: bool,
    ) -> Option<Gap> {
        let state = self.get_mut(room)?;
        if state.take_life(to, epoch) {
            state.replaying(from, to);
            return Some(Gap::ServerReset);
        }
        let before = state.resume_point().unwrap_or(0);
        state.replaying(from, to);
        match (complete, before) {
            (true, _) => None,
            (false, 0) => Some(Gap::OlderNotKept),
            (false, _) => Some(Gap::MissedWhileAway),
        }
    }

    /// A `message`: the message if it is new, `None` for a repeat. A new one is kept (up to the
    /// room's bound) and moves the room's resume point.
    pub fn message(&mut self, m: ChatMessage) -> Option<Arc<ChatMessage>> {
        let state = self.room_mut(&m.room);
        if !state.advance(m.seq) {
            state.repeats += 1;
            return None;
        }
        let m = Arc::new(m);
        match state.replayed_as_of(m.seq) {
            Some(as_of) => state.store.insert_as_of(m.clone(), as_of),
            None => state.store.insert_shared(m.clone()),
        };
        Some(m)
    }

    /// A `change` (v1.2): `None` for a repeat (its `seq` was seen); else it moves the room's
    /// resume point and is folded into its target when held.
    pub fn change(&mut self, c: &Change) -> Option<Changed> {
        let state = self.room_mut(&c.room);
        if !state.advance(c.seq) {
            state.repeats += 1;
            return None;
        }
        if state.membership.fold(c) {
            return Some(Changed { target: None });
        }
        let target = state.store.change(c);
        Some(Changed { target })
    }

    /// v1.2: `room`'s members as the moderation entries seen say (see [`crate::Membership`]).
    pub fn membership(&self, room: &str) -> Option<&crate::Membership> {
        self.room(room).map(|r| &r.membership)
    }

    /// A scrollback page (`before=`) of `page.room`, when it belongs to the epoch held. Returns
    /// how many of its messages were new; `None` when the page is of another life of the room
    /// (or of a room not known). Its messages are in their current state (reflecting everything
    /// seen so far); its `changes` are folded where not already.
    pub fn earlier(&mut self, page: MessagePage) -> Option<usize> {
        let state = self.get_mut(&page.room)?;
        if !page.epoch.is_empty() && page.epoch != state.epoch {
            return None;
        }
        let as_of = page_end(&page).max(state.high_seq().unwrap_or(0));
        let mut new = 0;
        for m in page.messages {
            if m.room == page.room && state.store.insert_as_of(Arc::new(m), as_of) {
                new += 1;
            }
        }
        for c in &page.changes {
            if c.room == page.room && !state.seen(c.seq) {
                state.store.change(c);
            }
        }
        Some(new)
    }

    /// A page read forward (`since=`, in `seq` order) of a followed room, when it belongs to the
    /// epoch held: its entries are taken like frames (each `seq` once; the resume point moves),
    /// its messages in their current state. Returns the new messages, in `seq` order, and the
    /// new changes; `None` when the page is of another life of the room (or the room is not
    /// followed).
    pub fn page(&mut self, page: MessagePage) -> Option<(Vec<Arc<ChatMessage>>, Vec<Change>)> {
        let state = self.get_mut(&page.room)?;
        if !page.epoch.is_empty() && !state.epoch.is_empty() && page.epoch != state.epoch {
            return None;
        }
        if state.epoch.is_empty() {
            state.epoch = page.epoch.clone();
        }
        let as_of = page_end(&page);
        let mut messages = Vec::new();
        for m in page.messages {
            if m.room == page.room && state.advance(m.seq) {
                let m = Arc::new(m);
                state.store.insert_as_of(m.clone(), as_of);
                messages.push(m);
            }
        }
        let mut changes = Vec::new();
        for c in page.changes {
            if c.room == page.room && state.advance(c.seq) {
                state.store.change(&c);
                changes.push(c);
            }
        }
        Some((messages, changes))
    }

    /// Whether `room` is joined on the current connection.
    pub fn is_joined(&self, room: &str) -> bool {
        self.room(room).is_some_and(|r| r.joined)
    }

    /// The next send of `room`, if its room is joined and it is its turn.
    fn next(&mut self, room: &str) -> Option<ClientMsg> {
        if self.is_joined(room) {
            self.pending.next(room)
        } else {
            None
        }
    }

    /// Queues a send to `room` (a room id, or a key such as `@peer` that is renamed later by
    /// [`Core::rekey`]) until its `ack`. Returns its frame if it may be written now.
    pub fn send(&mut self, client_id: &str, room: &str, text: &str) -> Option<ClientMsg> {
        self.pending
            .add(client_id.to_string(), room.to_string(), text.to_string());
        self.next(room)
    }

    /// Queues any request to `room` (v1.2: a reply, an edit, a deletion or a reaction; `text`
    /// for a send, reply or edit, else empty) until its `ack`, in turn with the room's sends.
    /// Returns its frame if it may be written now.
    pub fn submit(
        &mut self,
        client_id: &str,
        room: &str,
        text: &str,
        op: PendingOp,
    ) -> Option<ClientMsg> {
        let (id, r, t) = (client_id.to_string(), room.to_string(), text.to_string());
        self.pending.add_op(id, r, t, op);
        self.next(room)
    }

    /// Queues a new message (a send, or with `reply_to` a reply) with `files` attached: ids of
    /// files already uploaded to `room`. Returns its frame if it may be written now.
    pub fn send_files(
        &mut self,
        client_id: &str,
        room: &str,
        text: &str,
        op: PendingOp,
        files: Vec<String>,
    ) -> Option<ClientMsg> {
        let (id, r, t) = (client_id.to_string(), room.to_string(), text.to_string());
        self.pending.add_with_files(id, r, t, op, files);
        self.next(room)
    }

    /// An `ack`: the send is settled; the next of its room may go.
    pub fn ack(&mut self, client_id: &str) -> Acked {
        let send = self.pending.ack(client_id);
        let next = match &send {
            Some(s) => self.next(&s.room.clone()),
            None => None,
        };
        Acked { send, next }
    }

    /// A refused send the user decides about: kept as refused, holding the later sends of its
    /// room. Returns whether it was pending.
    pub fn fail(&mut self, client_id: &str, reason: String) -> bool {
        self.pending.fail(client_id, reason)
    }

    /// Forgets a send (given up, or refused for a client that does not keep refusals). Returns
    /// the next send of its room if it may go now.
    pub fn discard(&mut self, client_id: &str) -> Option<ClientMsg> {
        let room = self.pending.discard(client_id)?;
        self.next(&room)
    }

    /// Forgets every refused send of `room`; returns the next send of the room if one may go.
    pub fn discard_failed(&mut self, room: &str) -> Option<ClientMsg> {
        self.pending.discard_failed(room);
        self.next(room)
    }

    /// Sends a refused send again (after the refused ones written before it in its room).
    /// Returns the frame that may go now.
    pub fn retry(&mut self, client_id: &str) -> Option<ClientMsg> {
        let room = self.pending.retry(client_id)?;
        self.next(&room)
    }

    /// Sends every refused send of `room` again, in the order written. Returns the frame that may
    /// go now (the others follow, each after the previous one's `ack`).
    pub fn retry_all(&mut self, room: &str) -> Option<ClientMsg> {
        self.pending.retry_all(room);
        self.next(room)
    }

    /// Files the sends waiting under `from` (`@peer`) under `to` (the conversation's id).
    pub fn rekey(&mut self, from: &str, to: &str) {
        self.pending.rekey(from, to);
    }

    /// The connection dropped: no room is joined any more; sends in flight are written again
    /// once their room is joined on the next connection.
    pub fn disconnected(&mut self) {
        for (_, room) in &mut self.rooms {
            room.joined = false;
        }
        self.pending.requeue();
    }
}

/// The highest `seq` a page holds (a message or a change): its messages reflect at least that.
fn page_end(page: &MessagePage) -> u64 {
    let m = page.messages.iter().map(|m| m.seq);
    m.chain(page.changes.iter().map(|c| c.seq))
        .max()
        .unwrap_or(0)
}
