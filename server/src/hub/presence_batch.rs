//! Presence coalescing: a room's `joined`/`left`/`typing` changes are recorded, not sent, and a
//! server-wide tick (`--presence-interval`) turns them into at most `--presence-batch` frames
//! per room, queued to each member as one outbox entry. A mass join, a reconnect storm or a
//! typing storm then costs O(members) per tick instead of O(members) per event, and a member's
//! queue gains one entry per tick, so presence alone never gets a healthy member kicked.
//!
//! Every change carries a sequence number, and each member remembers the number current when
//! it joined ([`PresenceBatch::mark`]): it is told only of later changes, since its `joined`
//! already showed the earlier ones. Coalescing rules, per name: the latest change wins; a
//! `joined` and a `left` that nobody was told about (no flush and no member joined since)
//! cancel out; `typing` is ephemeral (kept once per tick, dropped when the
//! batch is full, never sent after a pending `left`). `joined`/`left` changes beyond the batch
//! carry over to the next tick in arrival order, up to a backlog of `backlog` names; past that a
//! storm is too big to narrate and further changes are dropped (counted in
//! [`PresenceBatch::dropped`]): in such a room presence is best effort, `joined` (capped, with
//! `users_total`) is the authoritative list and a client refreshes it by sending `join` again.
//! So per tick a room costs O(members × batch) whatever the storm, and memory is bounded.
//!
//! Plain data, no locking: it lives inside a room's state, under the room's lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use banter_protocol::PresenceState;
#[cfg(test)]
use banter_protocol::ServerMsg;

use super::presence;
use crate::store::Frame;

/// One frame to send, the connection that caused it (which does not get it) and the change's
/// number (members that joined after it do not get it either).
#[derive(Debug, Clone)]
pub struct PresenceFrame {
    pub except: Option<u64>,
    pub seq: u64,
    pub frame: Frame,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct PresenceBatch {
    /// Pending `joined`/`left` per name, with the connection that caused it.
    pending: HashMap<Arc<str>, (PresenceState, Option<u64>, u64)>,
    /// Arrival order of `pending` (may hold stale names, skipped when flushing).
    order: VecDeque<Arc<str>>,
    /// Names typing since the last flush.
    typing: Vec<(Arc<str>, u64, u64)>,
    typing_seen: HashSet<Arc<str>>,
    /// The last change's number.
    seq: u64,
    /// `seq` when the last member joined.
    marked: u64,
    /// Changes dropped because the backlog was full.
    pub dropped: u64,
}

impl PresenceBatch {
    /// Called when a member joins: the number it must be told changes after.
    pub fn mark(&mut self) -> u64 {
        self.marked = self.seq;
        self.seq
    }

    /// Whether there is anything to flush.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.typing.is_empty()
    }

    /// Records that `name` joined or left (`except`: the connection that caused it). A new name
    /// when `backlog` names are already pending is dropped.
    pub fn record(
        &mut self,
        name: &Arc<str>,
        state: PresenceState,
        except: Option<u64>,
        backlog: usize,
    ) {
        self.seq += 1;
        let seq = self.seq;
        match self.pending.get(name).map(|p| (p.0, p.2)) {
            // A change nobody heard of (no member joined since) is undone by its opposite.
            Some((was, at)) if was != state && at > self.marked => {
                self.pending.remove(name);
            }
            Some(_) => {
                self.pending.insert(name.clone(), (state, except, seq));
            }
            None if self.pending.len() >= backlog => self.dropped += 1,
            None => {
                self.pending.insert(name.clone(), (state, except, seq));
                self.order.push_back(name.clone());
                self.compact();
            }
        }
    }

    /// Records that `name` is typing, from connection `from` (at most `max` names per tick).
    pub fn record_typing(&mut self, name: &Arc<str>, from: u64, max: usize) {
        if self.typing.len() < max && self.typing_seen.insert(name.clone()) {
            self.seq += 1;
            self.typing.push((name.clone(), from, self.seq));
        }
    }

    /// Keeps `order` within a constant factor of `pending` under join/leave churn.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.pending.len() + 16 {
            let mut seen = HashSet::with_capacity(self.pending.len());
            let pending = &self.pending;
            self.order
                .retain(|n| pending.contains_key(n) && seen.insert(n.clone()));
        }
    }

    /// Up to `max` frames for `room`: pending joins and leaves first, in arrival order (the rest
    /// wait for the next flush), then typing (the rest is dropped).
    pub fn flush(&mut self, room: &str, max: usize) -> Vec<PresenceFrame> {
        let mut out = Vec::new();
        let mut left = HashSet::new();
        while out.len() < max {
            let Some(name) = self.order.pop_front() else {
                break;
            };
            if let Some((state, except, seq)) = self.pending.remove(&name) {
                out.push(frame(room, &name, state, except, seq));
                if state == PresenceState::Left {
                    left.insert(name);
                }
            }
        }
        for (name, from, seq) in self.typing.drain(..) {
            if out.len() >= max {
                break;
            }
            let gone = left.contains(&name)
                || matches!(self.pending.get(&name), Some((PresenceState::Left, ..)));
            if !gone {
                out.push(frame(room, &name, PresenceState::Typing, Some(from), seq));
            }
        }
        self.typing_seen.clear();
        if self.pending.is_empty() {
            self.order.clear();
        }
        out
    }
}

fn frame(
    room: &str,
    user: &str,
    state: PresenceState,
    except: Option<u64>,
    seq: u64,
) -> PresenceFrame {
    PresenceFrame {
        except,
        seq,
        frame: presence::frame(room, user, state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(frames: &[PresenceFrame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match serde_json::from_str(&f.frame) {
                Ok(ServerMsg::Presence { user, state, .. }) => format!("{user}:{state:?}"),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn join_then_leave_unheard_cancels_and_typing_is_once_per_flush() {
        let mut b = PresenceBatch::default();
        let (ada, bob): (Arc<str>, Arc<str>) = ("ada".into(), "bob".into());
        b.record(&ada, PresenceState::Joined, Some(1), 100);
        b.record(&bob, PresenceState::Joined, Some(2), 100);
        b.record(&ada, PresenceState::Left, None, 100);
        for _ in 0..100 {
            b.record_typing(&bob, 2, 10);
        }
        assert_eq!(states(&b.flush("r", 10)), ["bob:Joined", "bob:Typing"]);
        assert!(b.is_empty());
        b.record(&bob, PresenceState::Left, None, 100);
        b.record_typing(&bob, 2, 10);
        assert_eq!(states(&b.flush("r", 10)), ["bob:Left"]);
    }

    #[test]
    fn a_storm_is_capped_per_flush_and_carries_over_in_order() {
        let mut b = PresenceBatch::default();
        let names: Vec<Arc<str>> = (0..300).map(|i| format!("u{i:03}").into()).collect();
        for (i, n) in names.iter().enumerate() {
            b.record(n, PresenceState::Joined, Some(i as u64), 250);
            b.record_typing(n, i as u64, 1000);
        }
        assert_eq!(b.dropped, 50, "past the backlog, changes are dropped");
        let first = b.flush("r", 100);
        assert_eq!(first.len(), 100);
        assert_eq!(states(&first)[0], "u000:Joined");
        assert_eq!(states(&b.flush("r", 100))[0], "u100:Joined");
        let last = states(&b.flush("r", 100));
        assert_eq!(last.len(), 50, "typing from two ticks ago is gone");
        assert!(b.is_empty());
        // Churn does not grow the order queue.
        for _ in 0..10_000 {
            b.record(&names[0], PresenceState::Joined, None, 250);
            b.record(&names[0], PresenceState::Left, None, 250);
        }
        assert!(b.order.len() <= 17);
    }
}
