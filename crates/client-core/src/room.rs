//! One room as the rules see it: its resume point, the epoch that point belongs to, whether the
//! current connection joined it, and its messages. The rule that a room's history began a new
//! life (another epoch, or a head behind what we saw) lives here, once.
//!
//! Which `seq`s were taken in is a [`SeqSet`], not one number: since v1.2 a replay may give its
//! messages before the `change` entries of the same range, so an entry below the highest `seq`
//! seen may still be new, and the resume point is the end of the run seen without a gap.

use crate::{MessageStore, SeqSet};

/// One room (or conversation, by its id), as the rules know it.
#[derive(Debug, Clone)]
pub struct RoomSync {
    /// Its messages by `seq` (none kept for a client that keeps none).
    pub store: MessageStore,
    /// The life of the room's history our `seq`s belong to (empty: the server names none).
    pub epoch: String,
    /// Its `joined` came on the current connection: its sends may be written.
    pub joined: bool,
    /// The `seq`s seen (everything up to the one asked for counts as seen); `None`: nothing
    /// asked yet, only what comes after the first `joined` (then its `head`).
    seen: Option<SeqSet>,
    /// The end of the replay in progress: messages up to it come in their current state.
    replay_to: u64,
    /// An incomplete replay whose `from` the caller did not give: its first entry shows where
    /// what the server still holds begins.
    gone_before_next: bool,
    /// v1.2: the room's members as its moderation entries say.
    pub membership: crate::Membership,
    /// `message` and `change` frames dropped because their `seq` was seen: the server promises
    /// none (no duplicate on resume), so a test may check it stays 0.
    pub repeats: u64,
}

impl RoomSync {
    /// A room followed from after `since` (`None`: from its `head` when joined).
    pub fn new(keep: usize, since: Option<u64>) -> Self {
        RoomSync {
            store: MessageStore::with_cap(keep),
            epoch: String::new(),
            joined: false,
            seen: since.map(SeqSet::from_floor),
            replay_to: 0,
            membership: crate::Membership::default(),
            gone_before_next: false,
            repeats: 0,
        }
    }

    /// The `since` of its next `join`: the highest `seq` up to which every entry was seen there
    /// (messages and changes), even after old messages were evicted from memory.
    pub fn resume_point(&self) -> Option<u64> {
        self.seen.as_ref().map(SeqSet::resume_point)
    }

    /// Whether a replay is still coming in on the current connection (joined, and the entries
    /// up to the replay's end not all taken in yet): a view may wait for its end to draw once.
    pub fn replay_pending(&self) -> bool {
        self.joined && self.resume_point().unwrap_or(0) < self.replay_to
    }

    /// The highest `seq` seen there (entries below it may still be missing).
    pub fn high_seq(&self) -> Option<u64> {
        self.seen.as_ref().map(SeqSet::high)
    }

    /// Whether entry `seq` was taken in already (or lies before where the client started).
    pub fn seen(&self, seq: u64) -> bool {
        self.seen.as_ref().is_some_and(|s| s.contains(seq))
    }

    /// The `epoch` of its next `join`: the one the resume point belongs to, once there is one.
    pub fn resume_epoch(&self) -> Option<String> {
        let counted = self.resume_point().is_some_and(|r| r > 0);
        (counted && !self.epoch.is_empty()).then(|| self.epoch.clone())
    }

    /// Takes the room's `head` and `epoch` (from `joined` or `replay`). When the server's
    /// history is not the one our `seq`s count in (another epoch; or, from a server that names
    /// none, a head behind what we saw), what we held would collide with the new `seq`s: it is
    /// dropped and the room starts over from 0. Returns whether it did.
    pub(crate) fn take_life(&mut self, head: u64, epoch: &str) -> bool {
        let other_epoch = !epoch.is_empty() && !self.epoch.is_empty() && epoch != self.epoch;
        let went_back = self.high_seq().is_some_and(|r| head < r);
        if !epoch.is_empty() {
            self.epoch = epoch.to_string();
        }
        if other_epoch || went_back {
            self.store.reset();
            self.seen = Some(SeqSet::default());
            self.replay_to = 0;
            return true;
        }
        false
    }

    /// A room joined with no resume point resumes from what was its head then.
    pub(crate) fn start_at(&mut self, head: u64) {
        self.seen.get_or_insert_with(|| SeqSet::from_floor(head));
    }

    /// A replay of `from..=to` begins: its messages come in their current state, and entries
    /// before `from` are no longer held by the server (they will never come: the resume point
    /// may pass them).
    pub(crate) fn replaying(&mut self, from: u64, to: u64) {
        self.replay_to = to;
        if let Some(seen) = &mut self.seen {
            seen.fill_to(from.saturating_sub(1));
        }
    }

    /// An incomplete replay with no `from` known: the entries before its first one are gone.
    pub(crate) fn replaying_from_unknown(&mut self) {
        self.gone_before_next = true;
    }

    /// For a message of the replay (in its current state), the replay's end: its state reflects
    /// at least that; `None` for one that came live.
    pub(crate) fn replayed_as_of(&self, seq: u64) -> Option<u64> {
        (seq <= self.replay_to).then_some(self.replay_to)
    }

    /// Takes entry `seq` in: whether it is new (a repeat comes from a replay overlapping what
    /// came live, or a page overlapping frames). Moves the resume point.
    pub(crate) fn advance(&mut self, seq: u64) -> bool {
        let gone = std::mem::take(&mut self.gone_before_next);
        let seen = self
            .seen
            .get_or_insert_with(|| SeqSet::from_floor(seq.saturating_sub(1)));
        if gone {
            seen.fill_to(seq.saturating_sub(1));
        }
        seen.insert(seq)
    }
}

/// Why some of a room's messages are missing, for the client to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// The first load: the server keeps only the most recent messages.
    OlderNotKept,
    /// Messages sent while this client was away are no longer held by the server.
    MissedWhileAway,
    /// The server's history restarted (its latest `seq` is behind ours, or its epoch changed).
    ServerReset,
}

impl Gap {
    /// A sentence for the user.
    pub fn describe(self) -> &'static str {
        match self {
            Gap::OlderNotKept => "Older messages are no longer kept by the server.",
            Gap::MissedWhileAway => {
                "Some messages sent while you were away are no longer available."
            }
            Gap::ServerReset => "The server restarted and its history was reset.",
        }
    }
}
