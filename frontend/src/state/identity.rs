//! Who the user is, as the page changes it: "Change name" (opened over the chat, with a way
//! back), and what a new name leaves behind. On an open server a conversation belongs to the
//! pair of names that had it, so a new name starts with none: the old name's conversations
//! are dropped here (the server lists the new name's when it joins), never resumed under the
//! new name (whose conversation with the same person is another room).

use super::{Conversations, Session};

impl Session {
    /// "Change name": the prompt shows, the chat stays connected under the current name.
    pub fn start_renaming(&mut self) {
        self.renaming = true;
    }

    /// The prompt's Cancel (or Escape): back to the chat, nothing changed.
    pub fn cancel_renaming(&mut self) {
        self.renaming = false;
    }

    /// The name is about to become `new`: a different one drops the old name's conversations.
    pub(super) fn renamed(&mut self, new: &str) {
        self.renaming = false;
        let Some(old) = self.name.as_deref() else {
            return;
        };
        if old == new {
            return;
        }
        for c in self.conversations.all().to_vec() {
            if let Some(room) = c.room.as_deref() {
                self.rooms.remove(room);
                self.core.leave(room);
            }
            self.core.leave(&format!("@{}", c.peer));
        }
        self.conversations = Conversations::default();
        self.dm = None;
    }

    /// The person the conversation on screen is with is connected (in any room or
    /// conversation the user shares with them).
    pub fn peer_online(&self, peer: &str) -> bool {
        self.rooms
            .values()
            .any(|r| r.users.iter().any(|u| u == peer))
    }
}
