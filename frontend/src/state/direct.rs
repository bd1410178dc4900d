//! Conversations with one person, fed by `direct` frames.
//!
//! All of it lives here so that conversations can later become rooms only their two members may
//! read (stored and resumed like rooms) by changing this module and its callers in `Session`
//! alone: the views only ask for the list, one conversation's messages and its unread count.

use std::sync::Arc;

use banter_protocol::{ChatMessage, DirectMessage};

/// How many messages one conversation keeps in memory.
const KEEP_PER_CONVERSATION: usize = 1_000;

/// A conversation with `peer`.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    pub peer: String,
    /// Oldest first, as chat messages (`room` is `@peer`, `seq` counts from 1 in this page) so
    /// the views show them like room messages.
    pub messages: Vec<Arc<ChatMessage>>,
    pub unread: u32,
    next_seq: u64,
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

    /// The conversation with `peer`, created when new.
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

    /// Adds a direct message between `me` and someone; returns the peer and whether it was new
    /// (a message id seen before is kept once).
    pub fn add(&mut self, me: &str, dm: &DirectMessage) -> (String, bool) {
        let peer = if dm.from == me { &dm.to } else { &dm.from }.clone();
        let at = self.list.iter().position(|c| c.peer == peer);
        let mut conv = match at {
            Some(at) => self.list.remove(at),
            None => Conversation {
                peer: peer.clone(),
                ..Conversation::default()
            },
        };
        let new = !conv.messages.iter().any(|m| m.id == dm.id);
        if new {
            conv.next_seq += 1;
            conv.messages.push(Arc::new(ChatMessage {
                room: format!("@{peer}"),
                seq: conv.next_seq,
                id: dm.id.clone(),
                user: dm.from.clone(),
                text: dm.text.clone(),
                ts: dm.ts,
            }));
            if conv.messages.len() > KEEP_PER_CONVERSATION {
                conv.messages.remove(0);
            }
        }
        self.list.insert(0, conv);
        (peer, new)
    }

    /// Total unread across conversations.
    pub fn unread(&self) -> u32 {
        self.list.iter().map(|c| c.unread).sum()
    }
}
