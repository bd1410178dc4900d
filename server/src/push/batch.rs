//! Batching per user, so that a busy room does not send dozens of pushes: a user's first message
//! after a quiet spell is pushed at once; the ones that follow within `--push-batch` of that
//! push wait and go together when the window ends ("5 new messages in #dev"). At most one push
//! per user per window, however many messages. Plain state, no clock of its own: the worker
//! passes `now`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Rooms one user's waiting batch tells apart at most; messages of further rooms are only
/// counted.
pub const MAX_ROOMS: usize = 16;

/// A message to push to one user (who has no connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub user: String,
    pub room: String,
    pub from: String,
    pub text: String,
    pub mention: bool,
    /// The other member, when `room` is a conversation.
    pub with: Option<String>,
}

/// What one room adds to a user's batch: how many messages, whether one mentioned the user,
/// and the newest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBatch {
    pub count: u32,
    pub mention: bool,
    pub last: Notice,
    /// Order of arrival of `last` within the batch (the newest room is the highest).
    pub order: u64,
}

/// Messages for one user, to go as one push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub user: String,
    pub rooms: Vec<RoomBatch>,
    /// Messages of rooms past [`MAX_ROOMS`].
    pub others: u32,
    next: u64,
}

impl Batch {
    fn add(&mut self, n: Notice) {
        self.next += 1;
        if let Some(r) = self.rooms.iter_mut().find(|r| r.last.room == n.room) {
            r.count += 1;
            r.mention |= n.mention;
            r.last = n;
            r.order = self.next;
        } else if self.rooms.len() < MAX_ROOMS {
            self.rooms.push(RoomBatch {
                count: 1,
                mention: n.mention,
                last: n,
                order: self.next,
            });
        } else {
            self.others += 1;
        }
    }

    /// Messages in the batch.
    pub fn count(&self) -> u32 {
        self.rooms.iter().map(|r| r.count).sum::<u32>() + self.others
    }
}

#[derive(Default)]
struct UserState {
    /// When the last push for the user went.
    last: Option<Instant>,
    /// Waiting until `due`.
    waiting: Option<(Instant, Batch)>,
}

/// See the module docs.
pub struct Batches {
    window: Duration,
    users: HashMap<String, UserState>,
    /// Users held past which idle ones are forgotten.
    tidy_at: usize,
}

impl Batches {
    pub fn new(window: Duration) -> Self {
        Batches {
            window,
            users: HashMap::new(),
            tidy_at: 1024,
        }
    }

    /// Takes `n` in: a batch to push now, or `None` when it waits for its user's window.
    pub fn add(&mut self, n: Notice, now: Instant) -> Option<Batch> {
        self.tidy(now);
        let window = self.window;
        let st = self.users.entry(n.user.clone()).or_default();
        if let Some((_, batch)) = &mut st.waiting {
            batch.add(n);
            return None;
        }
        let mut batch = Batch {
            user: n.user.clone(),
            ..Batch::default()
        };
        batch.add(n);
        match st.last {
            Some(last) if now < last + window => {
                st.waiting = Some((last + window, batch));
                None
            }
            _ => {
                st.last = Some(now);
                Some(batch)
            }
        }
    }

    /// When the next waiting batch is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.users
            .values()
            .filter_map(|s| s.waiting.as_ref().map(|(due, _)| *due))
            .min()
    }

    /// The batches due by `now` (their users' windows start again now).
    pub fn due(&mut self, now: Instant) -> Vec<Batch> {
        let mut out = Vec::new();
        for st in self.users.values_mut() {
            if st.waiting.as_ref().is_some_and(|(due, _)| *due <= now)
                && let Some((_, batch)) = st.waiting.take()
            {
                st.last = Some(now);
                out.push(batch);
            }
        }
        out
    }

    /// Forgets users with nothing waiting whose window is over, when many are held.
    fn tidy(&mut self, now: Instant) {
        if self.users.len() < self.tidy_at {
            return;
        }
        let window = self.window;
        self.users
            .retain(|_, s| s.waiting.is_some() || s.last.is_some_and(|l| now < l + window));
        self.tidy_at = (self.users.len() * 2).max(1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(user: &str, room: &str, text: &str) -> Notice {
        Notice {
            user: user.into(),
            room: room.into(),
            from: "ada".into(),
            text: text.into(),
            mention: false,
            with: None,
        }
    }

    #[test]
    fn the_first_goes_at_once_and_the_rest_wait_for_the_window() {
        let t0 = Instant::now();
        let w = Duration::from_secs(5);
        let mut b = Batches::new(w);
        assert_eq!(b.add(n("bob", "dev", "1"), t0).unwrap().count(), 1);
        for i in 2..=6 {
            assert!(b.add(n("bob", "dev", &i.to_string()), t0).is_none());
        }
        assert!(b.add(n("bob", "ops", "7"), t0).is_none());
        assert_eq!(b.next_due(), Some(t0 + w));
        assert!(b.due(t0 + w / 2).is_empty());
        let due = b.due(t0 + w);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].count(), 6);
        assert_eq!(due[0].rooms[0].last.text, "6");
        assert_eq!(due[0].rooms[1].last.room, "ops");
        // Another user is not held up by bob's window.
        assert!(b.add(n("cy", "dev", "x"), t0 + w).is_some());
        // After a quiet window, bob's next goes at once again.
        assert!(b.add(n("bob", "dev", "8"), t0 + w * 3).is_some());
    }
}
