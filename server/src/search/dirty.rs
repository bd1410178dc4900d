//! [`Dirty`]: the rooms whose history changed since the indexer last looked, fed after each
//! commit (the store's completion on this node; in a cluster also the shared change stream).
//!
//! Marking a room costs a short lock and a set insert, never a wait: posting is never slowed by
//! the index. The set is bounded ([`DIRTY_MAX`]): past it, the indexer is told to look at every
//! room instead, which it does from the store's room list (what a start does too).

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Rooms remembered one by one at most; more mean "look at every room".
pub const DIRTY_MAX: usize = 100_000;

/// What the indexer has to look at.
#[derive(Debug, Default)]
pub struct Pending {
    pub rooms: HashSet<Arc<str>>,
    /// Every room (a start, an overflow, a gap in the cluster's change stream).
    pub all: bool,
    stop: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct Dirty {
    state: Mutex<Pending>,
    wake: Condvar,
}

impl Dirty {
    /// `room` changed (after its commit).
    pub fn touch(&self, room: &Arc<str>) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !s.all {
            if s.rooms.len() >= DIRTY_MAX {
                s.all = true;
                s.rooms = HashSet::new();
            } else {
                s.rooms.insert(room.clone());
            }
        }
        drop(s);
        self.wake.notify_one();
    }

    /// Every room may have changed.
    pub fn touch_all(&self) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.all = true;
        s.rooms = HashSet::new();
        drop(s);
        self.wake.notify_one();
    }

    /// The indexer stops after what it is doing.
    pub fn stop(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.wake.notify_all();
    }

    /// Waits `d` unless stopped meanwhile; `false` once stopped.
    pub fn hold(&self, d: Duration) -> bool {
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (s, _) = self
            .wake
            .wait_timeout_while(s, d, |s| !s.stop)
            .unwrap_or_else(PoisonError::into_inner);
        !s.stop
    }

    /// Waits for work (at most `wait`, then `Some` of nothing), and takes it; `None` once
    /// stopped.
    pub fn take(&self, wait: Duration) -> Option<Pending> {
        let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut s, _) = self
            .wake
            .wait_timeout_while(s, wait, |s| !s.stop && !s.all && s.rooms.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        if s.stop {
            return None;
        }
        Some(std::mem::take(&mut *s))
    }
}
