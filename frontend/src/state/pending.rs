//! Sends that wait for the server's `ack`, each with the `client_id` it keeps for life. A send
//! to a conversation whose id is not known yet waits under the key `@peer` until its `joined`
//! names the id ([`PendingSends::rekey`]).

use banter_protocol::ClientMsg;

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

    /// Files the sends waiting under `from` (`@peer`) under `to` (the conversation's id).
    pub fn rekey(&mut self, from: &str, to: &str) {
        for p in &mut self.items {
            if p.room == from {
                p.room = to.to_string();
            }
        }
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

    /// Puts every failed send of `room` back in the queue; returns how many.
    pub fn retry_all(&mut self, room: &str) -> usize {
        let mut n = 0;
        for p in &mut self.items {
            if p.room == room && matches!(p.state, PendingState::Failed(_)) {
                p.state = PendingState::Queued;
                n += 1;
            }
        }
        n
    }

    /// Drops every failed send of `room`.
    pub fn discard_failed(&mut self, room: &str) {
        self.items
            .retain(|p| p.room != room || !matches!(p.state, PendingState::Failed(_)));
    }

    /// Drops a send the user gave up on.
    pub fn discard(&mut self, client_id: &str) {
        self.items.retain(|p| p.client_id != client_id);
    }

    /// The pending sends of `room`, oldest first.
    pub fn in_room<'a>(&'a self, room: &'a str) -> impl Iterator<Item = &'a PendingSend> + 'a {
        self.items.iter().filter(move |p| p.room == room)
    }

    /// Every pending send, oldest first.
    pub fn in_all(&self) -> impl Iterator<Item = &PendingSend> {
        self.items.iter()
    }

    /// Drops every send of `room` (the user left it).
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
