//! What a `join` with `since` replays, and whether it can say `complete: true`.
//!
//! The client names the last `seq` it saw (and, from v1.1, the epoch that `seq` belongs to).
//! The replay is every message after it, up to `--max-replay`:
//! - another epoch, or a `since` ahead of `head` (a life of the room the client saw that is
//!   gone): everything held, from the oldest message, with `complete: false`;
//! - more than `--max-replay` missed: the newest `--max-replay`, with `complete: false` (the
//!   client pages further back with `GET ...?before=`);
//! - otherwise exactly `since + 1 ..= head`, `complete: true` unless retention deleted some.
//!
//! What lies below the room's hot window is read from the store outside the room's lock
//! ([`Fetched`]); the rest comes from the window in the critical section that adds the member.

use banter_protocol::{ServerMsg, ValidationError};

use super::room::RoomState;
use crate::store::{Frame, Range, Store};

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Replay the messages after this `seq`.
    pub since: u64,
    /// The replay cannot be complete, whatever is held.
    pub forced_incomplete: bool,
}

/// The plan for a join into `st` (loaded); `None` when the join asked for no replay.
pub fn plan(
    st: &RoomState,
    since: Option<u64>,
    epoch: Option<&str>,
    max_replay: u64,
) -> Option<Plan> {
    let since = since?;
    let other_life = epoch.is_some_and(|e| *e != *st.epoch) || since > st.head;
    let (since, mut forced_incomplete) = if other_life {
        (0, true)
    } else {
        (since, false)
    };
    let floor = st.head.saturating_sub(max_replay.max(1));
    let since = if since < floor {
        forced_incomplete = true;
        floor
    } else {
        since
    };
    Some(Plan {
        since,
        forced_incomplete,
    })
}

/// What a `join` has read from the store so far: frames after the plan's `since`, contiguous,
/// up to `cursor`.
#[derive(Default)]
pub struct Fetched {
    since: u64,
    pub cursor: u64,
    frames: Vec<(u64, Frame)>,
    /// Retention deleted part of what the client missed.
    skipped: bool,
}

impl Fetched {
    /// Starts over at `since` if the plan moved (new messages raised the `--max-replay` floor).
    pub fn rebase(&mut self, since: u64) {
        if self.frames.is_empty() && !self.skipped || since > self.cursor {
            *self = Fetched {
                since,
                cursor: since,
                ..Fetched::default()
            };
        } else if since > self.since {
            self.frames.retain(|(seq, _)| *seq > since);
            self.since = since;
        }
    }

    /// Reads `(from, to]` from the store, outside any lock.
    pub async fn read(
        &mut self,
        store: &Store,
        room: &str,
        from: u64,
        to: u64,
    ) -> Result<(), ValidationError> {
        let (msgs, _) = store
            .read(room, Range::After(from), (to - from) as usize)
            .await
            .map_err(|e| super::refusal(&e))?;
        if msgs.first().is_none_or(|m| m.seq != from + 1) {
            self.skipped = true;
        }
        self.cursor = msgs.last().map_or(to, |m| m.seq);
        self.frames.extend(
            msgs.iter()
                .map(|m| (m.seq, ServerMsg::message_json(m).into())),
        );
        Ok(())
    }

    /// The frames to queue: `joined`, the `replay` bracket, what was read, the window's rest.
    pub fn finish(
        &mut self,
        st: &RoomState,
        room: &str,
        plan: Plan,
        max_users: usize,
        viewer: &str,
    ) -> Vec<Frame> {
        let tail: Vec<Frame> = st.window_after(self.cursor).collect();
        let first = self
            .frames
            .first()
            .map(|(seq, _)| *seq)
            .or_else(|| (!tail.is_empty()).then(|| self.cursor + 1));
        let complete = !plan.forced_incomplete
            && !self.skipped
            && first.is_none_or(|seq| seq == plan.since + 1);
        crate::metrics::resume(complete);
        let bracket = ServerMsg::Replay {
            room: room.to_owned(),
            from: first.unwrap_or(st.head + 1),
            to: st.head,
            complete,
            epoch: st.epoch.to_string(),
        };
        let mut batch = Vec::with_capacity(self.frames.len() + tail.len() + 2);
        batch.push(st.joined(room, max_users, viewer).to_json().into());
        batch.push(bracket.to_json().into());
        batch.extend(self.frames.drain(..).map(|(_, f)| f));
        batch.extend(tail);
        batch
    }
}
