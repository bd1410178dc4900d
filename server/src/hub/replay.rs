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
//! A connection already in the room gets no replay: it was sent everything live.
//!
//! A replay is never built whole. The `join` queues `joined`, the `replay` bracket and the first
//! chunk (`--replay-chunk` messages: read from the store outside the room's lock when they lie
//! below the room's hot window, [`Fetched`]); the rest is a [`Backlog`] that the connection's
//! writer reads a chunk at a time as the client takes them ([`Hub::backlog_window`], else
//! [`Hub::backlog_store`], off the runtime and through the hub's [`ReadGate`]). So a replay
//! holds one chunk per connection, however long it is and however slowly the client reads.
//! The member is added in the critical section that fixes the replay's end (`head`), so what
//! follows it live has no seam with it.
//!
//! [`ReadGate`]: crate::limit::reads::ReadGate

use banter_protocol::{ServerMsg, ValidationError};

use super::Hub;
use super::room::RoomState;
use crate::outbox::Backlog;
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

/// The first chunk of a replay below the hot window, read from the store: frames after the
/// plan's `since`, contiguous, up to `cursor`.
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

    /// Whether the first chunk still has to be read (the window starts after `since + 1` and
    /// nothing was read yet).
    pub fn wants(&self, window_start: u64) -> bool {
        self.frames.is_empty() && !self.skipped && window_start > self.cursor + 1
    }

    /// Reads at most `chunk` messages of `(from, to]` from the store, outside any lock.
    pub fn read(
        &mut self,
        store: &Store,
        room: &str,
        (from, to): (u64, u64),
        chunk: usize,
    ) -> Result<(), ValidationError> {
        let want = ((to - from) as usize).min(chunk.max(1));
        let (msgs, _) = store
            .history()
            .read(room, Range::After(from), want)
            .map_err(|e| super::refusal(&e))?;
        if msgs.first().is_none_or(|m| m.seq() != from + 1) {
            self.skipped = true;
        }
        // Nothing held below the window: the replay goes on from the window.
        self.cursor = msgs.last().map_or(to, |m| m.seq());
        self.frames
            .extend(msgs.iter().map(|m| (m.seq(), m.frame())));
        Ok(())
    }

    /// The frames to queue: `joined`, the `replay` bracket and the first chunk (what was read,
    /// else the window's first `chunk` after the cursor), and the [`Backlog`] of the rest.
    pub fn finish(
        &mut self,
        st: &RoomState,
        room: &str,
        plan: Plan,
        joined: Frame,
        chunk: usize,
    ) -> (Vec<Frame>, Option<Backlog>) {
        let first = self
            .frames
            .first()
            .map(|(seq, _)| *seq)
            .or_else(|| (st.head > self.cursor).then(|| self.cursor + 1));
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
        let mut batch = Vec::with_capacity(self.frames.len().max(chunk.min(64)) + 2);
        batch.push(joined);
        batch.push(bracket.to_json().into());
        let next = if self.frames.is_empty() {
            let from_window: Vec<Frame> = st.window_after(self.cursor).take(chunk.max(1)).collect();
            let next = self.cursor + 1 + from_window.len() as u64;
            batch.extend(from_window);
            next
        } else {
            let next = self.cursor + 1;
            batch.extend(self.frames.drain(..).map(|(_, f)| f));
            next
        };
        let backlog = (next <= st.head).then(|| Backlog {
            room: room.into(),
            epoch: st.epoch.clone(),
            next,
            last: st.head,
        });
        (batch, backlog)
    }
}

/// The next step of a [`Backlog`].
pub enum BacklogStep {
    /// The next chunk, from the hot window.
    Frames(Vec<Frame>),
    /// The window no longer holds `next`: read it from the store ([`Hub::backlog_store`]).
    Store,
    /// Nothing more to write: done, or the connection is no longer in the room.
    Done,
}

/// The store no longer holds what a backlog still has to send (retention deleted it, or the
/// room's history was lost): the connection must resume.
#[derive(Debug)]
pub struct BacklogGap;

impl Hub {
    /// The next chunk of `b` for connection `peer_id` from the room's hot window, if the window
    /// holds it. Stops when the connection left the room (or was made to leave it).
    pub fn backlog_window(&self, peer_id: u64, b: &mut Backlog) -> BacklogStep {
        if b.next > b.last {
            return BacklogStep::Done;
        }
        let Some(room) = self.inner.rooms.get(&b.room) else {
            return BacklogStep::Done;
        };
        let st = room.lock();
        if st.unloaded || !st.is_member(peer_id) || *st.epoch != *b.epoch {
            return BacklogStep::Done;
        }
        if st.window_start() > b.next {
            return BacklogStep::Store;
        }
        let n = (b.last + 1 - b.next).min(self.inner.cfg.replay_chunk.max(1) as u64) as usize;
        let frames: Vec<Frame> = st.window_after(b.next - 1).take(n).collect();
        b.next += frames.len() as u64;
        if frames.is_empty() {
            b.next = b.last + 1;
        }
        BacklogStep::Frames(frames)
    }

    /// The next chunk of `b` read from the store (blocking: run it off the runtime).
    pub fn backlog_store(&self, b: &mut Backlog) -> Result<Vec<Frame>, BacklogGap> {
        let want = (b.last + 1 - b.next).min(self.inner.cfg.replay_chunk.max(1) as u64) as usize;
        let (msgs, meta) = self
            .inner
            .store
            .history()
            .read(&b.room, Range::After(b.next - 1), want)
            .map_err(|_| BacklogGap)?;
        if *meta.epoch != *b.epoch || msgs.first().is_none_or(|m| m.seq() != b.next) {
            return Err(BacklogGap);
        }
        b.next = msgs.last().map_or(b.next, |m| m.seq() + 1);
        Ok(msgs
            .iter()
            .filter(|m| m.seq() <= b.last)
            .map(|m| m.frame())
            .collect())
    }
}
