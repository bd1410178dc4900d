//! One room as the rules see it: its resume point, the epoch that point belongs to, whether the
//! current connection joined it, and its messages. The rule that a room's history began a new
//! life (another epoch, or a head behind what we saw) lives here, once.

use crate::MessageStore;

/// One room (or conversation, by its id), as the rules know it.
#[derive(Debug, Clone)]
pub struct RoomSync {
    /// Its messages by `seq` (none kept for a client that keeps none).
    pub store: MessageStore,
    /// The life of the room's history our `seq`s belong to (empty: the server names none).
    pub epoch: String,
    /// Its `joined` came on the current connection: its sends may be written.
    pub joined: bool,
    /// The highest `seq` seen (or asked for); `None`: nothing asked yet, only what comes after
    /// the first `joined` (then its `head`).
    resume: Option<u64>,
}

impl RoomSync {
    /// A room followed from after `since` (`None`: from its `head` when joined).
    pub fn new(keep: usize, since: Option<u64>) -> Self {
        RoomSync {
            store: MessageStore::with_cap(keep),
            epoch: String::new(),
            joined: false,
            resume: since,
        }
    }

    /// The `since` of its next `join`: the highest `seq` seen there, even after old messages
    /// were evicted from memory.
    pub fn resume_point(&self) -> Option<u64> {
        self.resume
    }

    /// The `epoch` of its next `join`: the one the resume point belongs to, once there is one.
    pub fn resume_epoch(&self) -> Option<String> {
        let counted = self.resume.is_some_and(|r| r > 0);
        (counted && !self.epoch.is_empty()).then(|| self.epoch.clone())
    }

    /// Takes the room's `head` and `epoch` (from `joined` or `replay`). When the server's
    /// history is not the one our `seq`s count in (another epoch; or, from a server that names
    /// none, a head behind what we saw), what we held would collide with the new `seq`s: it is
    /// dropped and the room starts over from 0. Returns whether it did.
    pub(crate) fn take_life(&mut self, head: u64, epoch: &str) -> bool {
        let other_epoch = !epoch.is_empty() && !self.epoch.is_empty() && epoch != self.epoch;
        let went_back = self.resume.is_some_and(|r| head < r);
        if !epoch.is_empty() {
            self.epoch = epoch.to_string();
        }
        if other_epoch || went_back {
            self.store.reset();
            self.resume = Some(0);
            return true;
        }
        false
    }

    /// A room joined with no resume point resumes from what was its head then.
    pub(crate) fn start_at(&mut self, head: u64) {
        self.resume.get_or_insert(head);
    }

    /// Whether `seq` is past everything seen (a `message` frame with a lower one is a repeat:
    /// the server sends each room's messages in `seq` order). Moves the resume point.
    pub(crate) fn advance(&mut self, seq: u64) -> bool {
        if self.resume.is_some_and(|r| seq <= r) {
            return false;
        }
        self.resume = Some(seq);
        true
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
