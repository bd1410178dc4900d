//! [`History`]: a room's durable history, the part of the store every backend has.

use banter_protocol::http::ConversationSummary;

use banter_protocol::ChatMessage;

use super::{AppendDone, Entry, NewMessage, Range, RoomMeta, StoreError};

/// Entries the default [`History::thread`] reads at most.
pub const THREAD_SCAN: usize = 100_000;

/// A thread's root and replies (when the root is held), and the room's meta.
pub type Thread = (Option<(ChatMessage, Vec<ChatMessage>)>, RoomMeta);

/// See the module docs of [`crate::store`]. Every method but [`History::append`] may block
/// (disk, network): the server calls them through [`super::Store`], off the async workers.
/// `server/tests/store_contract/` states what every implementation promises.
pub trait History: Send + Sync + 'static {
    /// The room's epoch, head and oldest held `seq`. A room that was never written has an
    /// epoch too (the one its first message will get).
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError>;

    /// Appends `msg` (a message, or a change checked and folded into its target in the same
    /// atomic step: see [`super::entry`]), or finds the entry already stored under its dedupe
    /// key within the dedupe window; `done` runs once that is durable, in `seq` order per room. Never blocks:
    /// a store that is behind refuses at once with [`StoreError::Busy`].
    fn append(&self, msg: NewMessage, done: AppendDone);

    /// At most `limit` entries of `room` in `range`, ascending by `seq`, with the room's meta
    /// as of the read. Messages come in their current state (edited text, reactions, a
    /// deleted one as a tombstone, a root's reply count); changes as they were stored (an
    /// edit of a deleted message without its text).
    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<Entry>, RoomMeta), StoreError>;

    /// v1.2: thread `root` of `room`: the root in its current state and at most `limit` of its
    /// replies after `seq` `after` (0: from the first) in `seq` order, with the room's meta;
    /// `None` when the room holds no message `root`. By default the room is read from `root`
    /// (or `after`) on, [`THREAD_SCAN`] entries at most.
    fn thread(
        &self,
        room: &str,
        root: u64,
        after: u64,
        limit: usize,
    ) -> Result<Thread, StoreError> {
        let (first, meta) = self.read(room, Range::After(root.saturating_sub(1)), 1)?;
        let Some(Entry::Message(head)) = first.into_iter().next().filter(|e| e.seq() == root)
        else {
            return Ok((None, meta));
        };
        let (mut replies, mut cursor, mut scanned) = (Vec::new(), root.max(after), 0);
        while replies.len() < limit && scanned < THREAD_SCAN {
            let (chunk, _) = self.read(room, Range::After(cursor), 1024)?;
            let Some(last) = chunk.last() else { break };
            cursor = last.seq();
            scanned += chunk.len();
            replies.extend(chunk.into_iter().filter_map(|e| match e {
                Entry::Message(m) if m.reply_to == Some(root) => Some(m),
                _ => None,
            }));
        }
        replies.truncate(limit);
        Ok((Some((head, replies)), meta))
    }

    /// Up to `limit` rooms that hold messages, by name, with their head (never private
    /// conversations).
    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError>;

    /// Those of `names` that hold messages, with their head, by name, at most `limit` (never
    /// private conversations): the room list of a token limited to some rooms, filtered before
    /// it is cut. By default one [`History::room`] per name.
    fn list_named(&self, names: &[String], limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let mut names: Vec<&String> = names
            .iter()
            .filter(|n| !banter_protocol::is_conversation(n))
            .collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            if out.len() >= limit {
                break;
            }
            let head = self.room(name)?.head;
            if head > 0 {
                out.push((name.clone(), head));
            }
        }
        Ok(out)
    }

    /// Every room and private conversation that holds messages (the search indexer's
    /// catch-up). By default the rooms of [`History::list`]: a history whose conversations
    /// outlive a restart lists them too.
    fn every_room(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.list(usize::MAX)?.into_iter().map(|r| r.0).collect())
    }

    /// The hub is loading `room`: a history that forgets rooms (the bounded memory store) must
    /// keep it until [`History::release`]. Calls are counted. A durable history forgets
    /// nothing: by default this does nothing.
    fn hold(&self, _room: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// The hub unloaded `room` (see [`History::hold`]).
    fn release(&self, _room: &str) {}

    /// The two members of the private conversation `room`, once it holds a message.
    fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError>;

    /// Up to `limit` of `user`'s private conversations, most recent first.
    fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// Whether the history can serve now (for `/readyz`).
    fn ready(&self) -> bool;
}
