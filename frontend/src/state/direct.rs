//! The user's private conversations: who each one is with and its id (`dm-…`, given by the
//! server), most recently active first.
//!
//! A conversation is stored by the server like a room, so its messages, resume point, unread
//! count and typing live in the session's room states under its id, like any room's; this list
//! only knows the people, the ids and the order. A conversation whose id is not known yet (just
//! opened from a person's name, before its `joined`) has none: sends to it wait under the key
//! `@peer` until the id comes.

use banter_protocol::http::ConversationSummary;

/// A conversation with `peer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    pub peer: String,
    /// The conversation's id (`dm-…`), once the server named it.
    pub room: Option<String>,
    /// When its latest message was sent (ms since the Unix epoch; 0 when none is known).
    pub ts: u64,
    /// A `join` for it was written on the current connection.
    pub asked: bool,
}

impl Conversation {
    /// The key its messages and sends live under: the id, or `@peer` before the id is known.
    pub fn key(&self) -> String {
        self.room
            .clone()
            .unwrap_or_else(|| format!("@{}", self.peer))
    }
}

/// Every conversation, the most recently active first.
#[derive(Debug, Clone, Default)]
pub struct Conversations {
    list: Vec<Conversation>,
}

impl Conversations {
    /// All conversations, most recent first.
    pub fn all(&self) -> &[Conversation] {
        &self.list
    }

    /// The conversation with `peer`, if any.
    pub fn get(&self, peer: &str) -> Option<&Conversation> {
        self.list.iter().find(|c| c.peer == peer)
    }

    /// The conversation whose id is `room`, if any.
    pub fn by_room(&self, room: &str) -> Option<&Conversation> {
        self.list.iter().find(|c| c.room.as_deref() == Some(room))
    }

    /// The conversation with `peer`, added (last) when new.
    pub fn open(&mut self, peer: &str) -> &mut Conversation {
        let at = match self.list.iter().position(|c| c.peer == peer) {
            Some(at) => at,
            None => {
                self.list.push(Conversation {
                    peer: peer.to_string(),
                    ..Conversation::default()
                });
                self.list.len() - 1
            }
        };
        &mut self.list[at]
    }

    /// Learns the id of the conversation with `peer` and that something happened there at
    /// `ts` (0: nothing new), which moves it up to its place in the order.
    pub fn learn(&mut self, peer: &str, room: &str, ts: u64) {
        let conv = self.open(peer);
        conv.room = Some(room.to_string());
        conv.ts = conv.ts.max(ts);
        // Moved by hand rather than sorted: a sort would grow the WASM more than this.
        let Some(at) = self.list.iter().position(|c| c.peer == peer) else {
            return;
        };
        let conv = self.list.remove(at);
        let to = self
            .list
            .iter()
            .position(|c| c.ts < conv.ts)
            .unwrap_or(self.list.len());
        self.list.insert(to, conv);
    }

    /// Adds what `GET /api/conversations` listed; returns the peers that were new.
    pub fn merge(&mut self, listed: &[ConversationSummary]) -> Vec<String> {
        let mut new = Vec::new();
        for c in listed {
            if self.get(&c.with).is_none() {
                new.push(c.with.clone());
            }
            self.learn(&c.with, &c.room, c.ts);
        }
        new
    }

    /// Drops the conversation with `peer` (the user was taken out of it).
    pub fn forget(&mut self, peer: &str) {
        self.list.retain(|c| c.peer != peer);
    }

    /// The connection dropped: nothing is asked for on the next one yet.
    pub fn disconnected(&mut self) {
        for c in &mut self.list {
            c.asked = false;
        }
    }
}
