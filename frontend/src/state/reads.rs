//! Read positions: the server keeps where the user has read up to in each room (v1.2 `read`,
//! `joined.read`), so unread counts agree across tabs and devices and survive a reload.
//!
//! A room's unread count is what the server has past the user's position (`head - read`),
//! less the user's own messages held there; its mentions are counted in the messages held past
//! the position. The page tells the server when the user has seen a room ([`Session::seen`]:
//! the room on screen while the page is visible, "mark all read"); those moves are gathered
//! per room and sent by the caller at most every [`READ_EVERY_MS`] ([`Session::take_reads`]).
//! A `read` frame (another tab or device moved the position) or a `joined.read` moves it here.

use banter_protocol::ClientMsg;

use super::Session;
use crate::markup::mentions_me;

/// The least time between two batches of `read` frames, in milliseconds: a busy room on
/// screen moves the position with every message, and every frame counts against the rate limit.
pub const READ_EVERY_MS: f64 = 1_000.0;

impl Session {
    /// The user has seen `room` up to `seq`: the position moves (forward only) and the server
    /// is to be told.
    pub(super) fn seen(&mut self, room: &str, seq: u64) {
        let state = self.room_mut(room);
        state.head = state.head.max(seq);
        if seq <= state.read_seq && seq <= state.server_read {
            return;
        }
        state.read_seq = state.read_seq.max(seq);
        if seq > state.server_read {
            let due = self.reads_due.entry(room.to_string()).or_insert(0);
            *due = (*due).max(seq);
        }
        self.recount(room);
    }

    /// The server says the user's position in `room` is `seq` (a `read` frame, or `joined.read`).
    pub(super) fn on_read(&mut self, room: &str, seq: u64) {
        let Some(state) = self.rooms.get_mut(room) else {
            return;
        };
        state.server_read = state.server_read.max(seq);
        if seq > state.read_seq {
            state.read_seq = seq;
            self.recount(room);
        }
    }

    /// A `joined` of `room` with the server's `head` and the user's position `read` there.
    /// A room the user never read (`0`) starts read up to its head: history from before the
    /// user came is not unread (and the server is told so).
    pub(super) fn joined_read(&mut self, room: &str, head: u64, read: u64, viewing: bool) {
        let state = self.room_mut(room);
        state.head = head;
        let first = !state.ever_joined;
        state.ever_joined = true;
        if first && read > 0 {
            // The server knows better than this page, which has just loaded.
            state.read_seq = read;
        }
        self.on_read(room, read);
        if viewing && !(first && read == 0) {
            self.recount(room);
            self.note_unread_line(room);
        }
        if (first && read == 0) || viewing {
            self.seen(room, head);
        }
        self.recount(room);
    }

    /// `room` is being opened (or comes back on screen): when some of it is unread, "new
    /// messages" starts after the position it had.
    pub(super) fn note_unread_line(&mut self, room: &str) {
        let Some(state) = self.rooms.get(room) else {
            return;
        };
        if state.unread > 0 {
            self.unread_line = Some((room.to_string(), state.read_seq));
        } else if self.unread_line.as_ref().is_some_and(|(r, _)| r != room) {
            self.unread_line = None;
        }
    }

    /// A message new to this page in `room`, not on screen: counted unread (past the position),
    /// and as a mention when it is one.
    pub(super) fn count_unseen(&mut self, room: &str, seq: u64, own: bool, mention: bool) {
        let state = self.room_mut(room);
        state.head = state.head.max(seq);
        if seq > state.read_seq {
            if own {
                state.own += 1;
            } else if mention {
                state.mentions += 1;
            }
        }
        state.unread = unread(state.head, state.read_seq, state.own);
    }

    /// Counts `room`'s unread messages and mentions again from its position.
    fn recount(&mut self, room: &str) {
        let me = self.name.clone().unwrap_or_default();
        let conversation = self.conversations.by_room(room).is_some();
        let Some(state) = self.rooms.get(room) else {
            return;
        };
        let read = state.read_seq;
        let (mut own, mut mentioned) = (0, 0);
        if let Some(store) = self.store(room) {
            for m in store.window(Some(read + 1), 0, usize::MAX) {
                if m.user == me {
                    own += 1;
                } else if conversation || mentions_me(&m.text, &me) {
                    mentioned += 1;
                }
            }
        }
        if let Some(state) = self.rooms.get_mut(room) {
            state.head = state
                .head
                .max(self.core.room(room).map_or(0, |r| r.store.high_seq()));
            state.own = own;
            state.mentions = mentioned;
            state.unread = unread(state.head, state.read_seq, own);
        }
    }

    /// Every room and conversation of the user counts as read, up to what the server has.
    pub fn mark_all_read(&mut self) {
        let rooms: Vec<(String, u64)> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.unread > 0 || r.mentions > 0)
            .map(|(room, r)| (room.clone(), r.head))
            .collect();
        for (room, head) in rooms {
            self.seen(&room, head);
        }
    }

    /// Whether some `read` frame waits to be sent.
    pub fn reads_due(&self) -> bool {
        !self.reads_due.is_empty()
    }

    /// The `read` frames to send now: one per room with a new position, for the rooms joined
    /// on this connection (the others wait for their `joined`).
    pub fn take_reads(&mut self) -> Vec<ClientMsg> {
        if !self.welcomed {
            return Vec::new();
        }
        let ready: Vec<String> = self
            .reads_due
            .keys()
            .filter(|room| self.core.is_joined(room))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for room in ready {
            let Some(seq) = self.reads_due.remove(&room) else {
                continue;
            };
            let state = self.room_mut(&room);
            if seq > state.server_read {
                state.server_read = seq;
                out.push(ClientMsg::Read { room, seq });
            }
        }
        out
    }
}

/// Unread past position `read` of a room whose server head is `head`, less `own` messages.
fn unread(head: u64, read: u64, own: u32) -> u32 {
    let past = head.saturating_sub(read).min(u64::from(u32::MAX)) as u32;
    past.saturating_sub(own)
}
