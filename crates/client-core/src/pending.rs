//! Sends that wait for the server's `ack`, each with the `client_id` it keeps for life, in the
//! order they were written.
//!
//! Order is the rule here: within a room, a send is written only when every send written before
//! it in that room is acked, so at most one is in flight per room. A rate limit or a busy store
//! that refuses one send can then never let a later one be stored before it (pipelining them all
//! did: refused sends retried after accepted later ones came out as 43, 50, 59, 31…). A refused
//! send the client keeps ([`PendingSends::fail`]) holds the sends after it in its room, each
//! marked refused with the same reason, until it is retried or discarded; retrying re-sends them
//! in the order they were written.
//!
//! A send to a conversation whose id is not known yet waits under a key such as `@peer` until the
//! id comes ([`PendingSends::rekey`]); only sends of a joined room are written.
//!
//! Since v1.2 a pending request may also be an edit, a deletion or a reaction ([`PendingOp`]):
//! each is acked like a send (with the `seq` of its change entry), keeps its `client_id`, and
//! waits its turn in its room with the sends (an edit of a message just sent goes after it).
//! A new message may carry the ids of files uploaded before it was sent (`files`): they are
//! part of the request, written again unchanged with its `client_id` after a reconnect.

use banter_protocol::ClientMsg;

/// Where a pending send stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingState {
    /// Not written on the current connection yet (offline, not joined yet, or behind an earlier
    /// send of its room).
    Queued,
    /// Written; waiting for its `ack`.
    InFlight,
    /// Refused by the server (or held behind a refused one); the reason is for the user, who may
    /// retry or discard it.
    Failed(String),
}

/// What a pending request asks the server (v1.2: not only new messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PendingOp {
    /// A new message with the request's `text`.
    #[default]
    Send,
    /// A reply: a new message answering message `reply_to` (its thread is the root's).
    Reply { reply_to: u64 },
    /// Replace the text of your message `seq` with the request's `text`.
    Edit { seq: u64 },
    /// Delete message `seq`.
    Delete { seq: u64 },
    /// Add (or with `remove`, take back) your reaction `emoji` to message `seq`.
    React {
        seq: u64,
        emoji: String,
        remove: bool,
    },
}

/// A message the user sent (or, v1.2, an edit, deletion or reaction) that the server has not
/// acknowledged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSend {
    /// Chosen once, kept on every re-send: the idempotency key.
    pub client_id: String,
    pub room: String,
    /// The message's text (a send, reply or edit; empty for the others).
    pub text: String,
    pub state: PendingState,
    /// What it asks ([`PendingOp::Send`] for a plain message).
    pub op: PendingOp,
    /// v1.2: ids of the files attached to a new message (uploaded already); empty otherwise.
    pub files: Vec<String>,
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

    /// Whether it is a new message (a send or a reply), which a view shows as pending.
    pub fn is_message(&self) -> bool {
        matches!(self.op, PendingOp::Send | PendingOp::Reply { .. })
    }

    /// Its frame (`send`, `edit`, `delete` or `react`), with its `client_id`.
    pub fn frame(&self) -> ClientMsg {
        let (room, client_id) = (self.room.clone(), Some(self.client_id.clone()));
        match &self.op {
            PendingOp::Send | PendingOp::Reply { .. } => ClientMsg::Send {
                room,
                text: self.text.clone(),
                client_id,
                reply_to: match self.op {
                    PendingOp::Reply { reply_to } => Some(reply_to),
                    _ => None,
                },
                files: self.files.clone(),
            },
            &PendingOp::Edit { seq } => ClientMsg::Edit {
                room,
                seq,
                text: self.text.clone(),
                client_id,
            },
            &PendingOp::Delete { seq } => ClientMsg::Delete {
                room,
                seq,
                client_id,
            },
            PendingOp::React { seq, emoji, remove } => ClientMsg::React {
                room,
                seq: *seq,
                emoji: emoji.clone(),
                remove: *remove,
                client_id,
            },
        }
    }

    fn failed(&self) -> bool {
        matches!(self.state, PendingState::Failed(_))
    }
}

/// Sends waiting for their `ack`, in the order they were written.
#[derive(Debug, Clone, Default)]
pub struct PendingSends {
    items: Vec<PendingSend>,
}

impl PendingSends {
    /// Adds a new send, last. It is held as refused at once when an earlier send of its room is
    /// (it may not overtake it).
    pub fn add(&mut self, client_id: String, room: String, text: String) {
        self.add_op(client_id, room, text, PendingOp::Send);
    }

    /// [`Self::add`] of any request: a send, reply, edit, deletion or reaction.
    pub fn add_op(&mut self, client_id: String, room: String, text: String, op: PendingOp) {
        let state = match self.in_room(&room).find(|p| p.failed()) {
            Some(p) => p.state.clone(),
            None => PendingState::Queued,
        };
        self.items.push(PendingSend {
            client_id,
            room,
            text,
            state,
            op,
            files: Vec::new(),
        });
    }

    /// [`Self::add_op`] of a new message (a send or a reply) with files attached: the ids of
    /// files uploaded to its room, sent with it on every write.
    pub fn add_with_files(
        &mut self,
        client_id: String,
        room: String,
        text: String,
        op: PendingOp,
        files: Vec<String>,
    ) {
        self.add_op(client_id, room, text, op);
        if let Some(last) = self.items.last_mut() {
            last.files = files;
        }
    }

    /// Writes the next send of `room` if it may go: the room's oldest send, when it is queued
    /// (none is in flight or refused before it). Returns its frame, same `client_id`.
    pub fn next(&mut self, room: &str) -> Option<ClientMsg> {
        let first = self.items.iter_mut().find(|p| p.room == room)?;
        if first.state != PendingState::Queued {
            return None;
        }
        first.state = PendingState::InFlight;
        Some(first.frame())
    }

    /// The server stored `client_id`: forget it. Returns the send if it was pending.
    pub fn ack(&mut self, client_id: &str) -> Option<PendingSend> {
        let at = self.items.iter().position(|p| p.client_id == client_id)?;
        Some(self.items.remove(at))
    }

    /// The server refused `client_id` and the user decides what to do: it is kept as refused,
    /// and so is every send after it in its room that is not written yet (held behind it, same
    /// reason). Returns whether it was pending.
    pub fn fail(&mut self, client_id: &str, reason: String) -> bool {
        let Some(at) = self.items.iter().position(|p| p.client_id == client_id) else {
            return false;
        };
        let room = self.items[at].room.clone();
        self.items[at].state = PendingState::Failed(reason.clone());
        for p in &mut self.items[at + 1..] {
            if p.room == room && p.state == PendingState::Queued {
                p.state = PendingState::Failed(reason.clone());
            }
        }
        true
    }

    /// The connection dropped: whatever was in flight must be written again.
    pub fn requeue(&mut self) {
        for p in &mut self.items {
            if p.state == PendingState::InFlight {
                p.state = PendingState::Queued;
            }
        }
    }

    /// Files the sends waiting under `from` (`@peer`) under `to` (the conversation's id).
    pub fn rekey(&mut self, from: &str, to: &str) {
        for p in &mut self.items {
            if p.room == from {
                p.room = to.to_string();
            }
        }
    }

    /// Puts a refused send back in the queue, with the refused sends written before it in its
    /// room (they go first: nothing overtakes). Returns its room, if it was refused.
    pub fn retry(&mut self, client_id: &str) -> Option<String> {
        let at = self.items.iter().position(|p| p.client_id == client_id)?;
        if !self.items[at].failed() {
            return None;
        }
        let room = self.items[at].room.clone();
        for p in &mut self.items[..=at] {
            if p.room == room && p.failed() {
                p.state = PendingState::Queued;
            }
        }
        Some(room)
    }

    /// Puts every refused send of `room` back in the queue, in the order written; returns how
    /// many.
    pub fn retry_all(&mut self, room: &str) -> usize {
        let mut n = 0;
        for p in &mut self.items {
            if p.room == room && p.failed() {
                p.state = PendingState::Queued;
                n += 1;
            }
        }
        n
    }

    /// Drops every refused send of `room`.
    pub fn discard_failed(&mut self, room: &str) {
        self.items.retain(|p| p.room != room || !p.failed());
    }

    /// Drops a send (the user gave up on it, or a refused one the client does not keep).
    /// Returns its room, if it was pending.
    pub fn discard(&mut self, client_id: &str) -> Option<String> {
        let at = self.items.iter().position(|p| p.client_id == client_id)?;
        Some(self.items.remove(at).room)
    }

    /// The pending sends of `room`, oldest first.
    pub fn in_room<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a PendingSend> + 'a {
        self.items.iter().filter(move |p| p.room == room)
    }

    /// Every pending send, oldest first.
    pub fn in_all(&self) -> impl Iterator<Item = &PendingSend> {
        self.items.iter()
    }

    /// Drops every send of `room` (the client left it).
    pub fn discard_room(&mut self, room: &str) {
        self.items.retain(|p| p.room != room);
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
