//! What the page shows of one room besides its messages: who is here, who is typing, the quiet
//! join/leave lines, unread counts, missing history. Its messages, resume point, epoch and
//! whether it is joined are the client core's ([`banter_client_core::RoomSync`]).

use banter_client_core::Gap;
use banter_protocol::RoomRole;

/// How long "is typing…" shows after the last `typing` event, in milliseconds.
pub const TYPING_SHOWS_MS: f64 = 5_000.0;

/// How long after a user's message a `typing` from them is taken as late news, in milliseconds:
/// the server sends typing on its presence tick (every 250 ms by default), so a `typing` made
/// before the message may arrive just after it, and would show "is typing…" for 5 s more.
/// Less than senders stay quiet after a send ([`super::TYPING_QUIET_AFTER_SEND_MS`]).
pub const TYPING_STALE_AFTER_MESSAGE_MS: f64 = 750.0;

/// How many join/leave lines a room keeps.
const KEEP_EVENTS: usize = 100;

/// Someone joined or left, shown as a quiet line after the message `after_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceLine {
    /// The newest `seq` held when it happened (0: before any message).
    pub after_seq: u64,
    pub user: String,
    pub joined: bool,
    /// Unique within the room, for keyed view lists.
    pub key: u64,
}

/// One room, as the page shows it.
#[derive(Debug, Clone, Default)]
pub struct RoomState {
    /// Who is present (from `joined`, then `presence`): each name once, in arrival order. A
    /// `Vec`, not a set: the list is small and a set's sort would grow the WASM.
    pub users: Vec<String>,
    /// Joined at least once on any connection of this page (the first `joined` sets the read
    /// point: history is not "unread").
    pub ever_joined: bool,
    /// Messages by others after `read_seq` that the user has not seen.
    pub unread: u32,
    /// How many of those mention the user.
    pub mentions: u32,
    /// The user's read position: the newest `seq` they have seen, here or on another device
    /// (see `super::reads`).
    pub read_seq: u64,
    /// The newest `seq` the server has, as far as known.
    pub head: u64,
    /// The highest position the server knows of (told by it, or sent to it).
    pub server_read: u64,
    /// The user's own messages held past the position (not unread).
    pub own: u32,
    /// Who is typing, with when we last heard it (ms).
    pub typing: Vec<(String, f64)>,
    /// Who sent a message lately, with when (ms): a message ends its author's typing.
    spoke: Vec<(String, f64)>,
    /// Joins and leaves seen while here, oldest first.
    pub events: Vec<PresenceLine>,
    next_event: u64,
    /// History could not give back everything (`replay.complete == false`).
    pub gap: Option<Gap>,
    /// v1.2: the user's role here, from `joined` (none: an ordinary member of a public room).
    pub role: Option<RoomRole>,
    /// v1.2: only members may join (from `joined`).
    pub private: bool,
    /// v1.2: a group conversation's members, when known (see `super::groups`).
    pub group: Vec<String>,
    /// v1.2: moderation entries seen, as quiet lines (see `super::moderation`).
    pub mod_lines: Vec<super::PresenceSummary>,
    /// Scrollback (`before=`) reached the oldest message the server holds.
    pub reached_start: bool,
    /// Per thread root opened here, the newest reply the user has seen.
    threads_seen: Vec<(u64, u64)>,
    /// The room's head when this page first joined it: replies up to it are history.
    pub history_to: u64,
    /// The stretches of its history the page holds (see `super::ranges`).
    pub held: super::ranges::Ranges,
}

impl RoomState {
    /// Adds `user` to who is here; returns whether they were new.
    pub fn add_user(&mut self, user: String) -> bool {
        if self.users.contains(&user) {
            return false;
        }
        self.users.push(user);
        true
    }

    /// A quiet "joined"/"left" line after the message `after_seq` (the newest held).
    pub fn add_event(&mut self, user: String, joined: bool, after_seq: u64) {
        self.next_event += 1;
        self.events.push(PresenceLine {
            after_seq,
            user,
            joined,
            key: self.next_event,
        });
        if self.events.len() > KEEP_EVENTS {
            self.events.remove(0);
        }
    }

    /// A message from `user` arrived at `now`: they stopped typing (and a `typing` of theirs
    /// that arrives within [`TYPING_STALE_AFTER_MESSAGE_MS`] is from before it).
    pub fn spoke(&mut self, user: &str, now: f64) {
        self.typing.retain(|(u, _)| u != user);
        self.spoke
            .retain(|(u, at)| u != user && now - at < TYPING_STALE_AFTER_MESSAGE_MS);
        self.spoke.push((user.to_string(), now));
    }

    /// `user` is typing (heard at `now`), unless their message just came.
    pub fn typing(&mut self, user: String, now: f64) {
        if self
            .spoke
            .iter()
            .any(|(u, at)| *u == user && now - at < TYPING_STALE_AFTER_MESSAGE_MS)
        {
            return;
        }
        match self.typing.iter_mut().find(|(u, _)| *u == user) {
            Some(entry) => entry.1 = now,
            None => self.typing.push((user, now)),
        }
    }

    /// Forgets typing indicators older than [`TYPING_SHOWS_MS`]; returns whether any went.
    pub fn expire_typing(&mut self, now: f64) -> bool {
        let before = self.typing.len();
        self.typing.retain(|(_, at)| now - at < TYPING_SHOWS_MS);
        self.typing.len() != before
    }

    /// The newest reply of thread `root` the user saw (its root's `seq` when never opened).
    pub fn thread_seen(&self, root: u64) -> u64 {
        let seen = self.threads_seen.iter().find(|(r, _)| *r == root);
        seen.map_or(root.max(self.history_to), |(_, s)| *s)
    }

    /// The user saw thread `root` up to its reply `seq`.
    pub fn see_thread(&mut self, root: u64, seq: u64) {
        match self.threads_seen.iter_mut().find(|(r, _)| *r == root) {
            Some(entry) => entry.1 = entry.1.max(seq),
            None => self.threads_seen.push((root, seq)),
        }
    }

    /// The history we held no longer matches the server's (the core dropped its messages):
    /// forget what the page showed of it and say so.
    pub fn reset_history(&mut self, head: u64) {
        self.events.clear();
        self.held.clear();
        self.reached_start = false;
        self.read_seq = head;
        self.head = head;
        self.own = 0;
        self.unread = 0;
        self.mentions = 0;
        self.gap = Some(Gap::ServerReset);
    }
}
