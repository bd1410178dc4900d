//! v1.2 "Message lifecycle" on the page: edits, deletions, reactions and thread replies asked
//! by the user (queued by the client core in turn with the room's sends, kept by `client_id`
//! until their `ack`, written again after a reconnect), and what the page keeps of threads
//! (which replies the user has seen). How a message's state follows from its changes is the
//! client core's fold; this only asks and counts.

use banter_client_core::PendingOp;
use banter_protocol::http::{MessagePage, ThreadPage};
use banter_protocol::{ChatMessage, ClientMsg};

use super::Session;

impl Session {
    /// The message `seq` of the room on screen, if held.
    pub fn current_message(&self, seq: u64) -> Option<&ChatMessage> {
        self.current_store()?.get(seq).map(|m| &**m)
    }

    /// The newest message of the user on screen that can still be edited (Up arrow).
    pub fn last_own_message(&self) -> Option<u64> {
        let me = self.name.as_deref()?;
        let recent = self.current_store()?.last(200);
        let mut newest_first = recent.iter().rev();
        newest_first
            .find(|m| m.user == me && !m.deleted && m.reply_to.is_none())
            .map(|m| m.seq)
    }

    /// Queues a request about the room on screen (its id must be known: a conversation's is
    /// once it was joined). Returns the frames to write now.
    fn submit(&mut self, text: &str, op: PendingOp) -> Result<Vec<ClientMsg>, String> {
        let room = self
            .screen_room()
            .ok_or("this conversation is not open yet")?
            .to_string();
        self.next_client_id += 1;
        let client_id = format!("{}-{}", self.client_prefix, self.next_client_id);
        Ok(self
            .core
            .submit(&client_id, &room, text, op)
            .into_iter()
            .collect())
    }

    /// Replaces the text of the user's message `seq` on screen (checked like a message).
    pub fn edit(&mut self, seq: u64, text: &str) -> Result<Vec<ClientMsg>, String> {
        let text = self.limits.text(text).map_err(|e| e.message)?.to_string();
        let me = self.name.clone().unwrap_or_default();
        match self.current_message(seq) {
            Some(m) if m.deleted => Err("that message was deleted".into()),
            Some(m) if m.user != me => Err("only its author can edit a message".into()),
            Some(m) if m.text == text => Ok(Vec::new()),
            Some(_) => self.submit(&text, PendingOp::Edit { seq }),
            None => Err("that message is not here any more".into()),
        }
    }

    /// Deletes message `seq` of the room on screen.
    pub fn delete(&mut self, seq: u64) -> Result<Vec<ClientMsg>, String> {
        self.submit("", PendingOp::Delete { seq })
    }

    /// Gives (or takes back, when the user already gave it) the reaction `emoji` to `seq`.
    pub fn toggle_reaction(&mut self, seq: u64, emoji: &str) -> Result<Vec<ClientMsg>, String> {
        let me = self.name.clone().unwrap_or_default();
        let m = self
            .current_message(seq)
            .ok_or("that message is not here")?;
        if m.deleted {
            return Err("that message was deleted".into());
        }
        let remove = m
            .reactions
            .iter()
            .any(|r| r.emoji == emoji && r.users.contains(&me));
        let op = PendingOp::React {
            seq,
            emoji: emoji.to_string(),
            remove,
        };
        self.submit("", op)
    }

    /// Answers in the thread of `root` (a reply to a reply joins its root's thread).
    pub fn reply(&mut self, root: u64, text: &str) -> Result<Vec<ClientMsg>, String> {
        let text = self.limits.text(text).map_err(|e| e.message)?.to_string();
        let root = self
            .current_message(root)
            .and_then(|m| m.reply_to)
            .unwrap_or(root);
        self.typing_sent();
        self.submit(&text, PendingOp::Reply { reply_to: root })
    }

    /// The replies of the thread `root` on screen the user has not seen (0 once opened).
    pub fn thread_unread(&self, root: u64) -> usize {
        let Some(room) = self.screen_room() else {
            return 0;
        };
        let seen = self.rooms.get(room).map_or(0, |r| r.thread_seen(root));
        let me = self.name.as_deref().unwrap_or_default();
        self.store(room).map_or(0, |st| {
            st.thread(root)
                .filter(|m| m.seq > seen && m.user != me)
                .count()
        })
    }

    /// The user has seen every reply of the thread `root` on screen.
    pub fn mark_thread_read(&mut self, root: u64) {
        let Some(room) = self.screen_room().map(str::to_string) else {
            return;
        };
        let newest = self
            .store(&room)
            .and_then(|st| st.thread(root).last().map(|m| m.seq))
            .unwrap_or(root);
        self.room_mut(&room).see_thread(root, newest);
    }

    /// Adds a thread read over HTTP (after a reload its root and replies may be older than
    /// what the join replayed): its messages in their current state, when of the epoch held.
    pub fn add_thread(&mut self, page: ThreadPage) {
        let mut messages = vec![page.root];
        messages.extend(page.replies);
        self.core.earlier(MessagePage {
            room: page.room,
            messages,
            complete: false,
            epoch: page.epoch,
            changes: Vec::new(),
        });
    }
}
