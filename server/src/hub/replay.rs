//! What a `join` with `since` replays, and whether it can say `complete: true`.
//!
//! The client names the last `seq` it saw (and, from v1.1, the epoch that `seq` belongs to).
//! The replay is every message after it, up to `--max-replay`:
//! - another epoch, or a `since` ahead of `head` (a life of the room the client saw that is
//!   gone): everything held, from the oldest message, with `complete: false`;
//! - more than `--max-replay` missed: the newest `--max-replay`, with `complete: false` (the
//!   client pages further back with `GET ...?before=`);
//! - otherwise exactly `since + 1 ..= head`, `complete: true` unless retention deleted some.

use super::room::RoomState;

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
