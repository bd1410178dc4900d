//! Recently seen dedupe keys of one room, bounded in time (`--dedupe-window`) and count
//! (`--dedupe-capacity`): the in-memory store's idempotency table. (The SQLite store finds
//! duplicates with an index instead, so they survive a restart.)

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::store::Stored;

/// See the module docs.
#[derive(Default)]
pub struct Dedupe {
    map: HashMap<Arc<str>, Arc<Stored>>,
    order: VecDeque<(Arc<str>, Instant)>,
}

/// How long and how many keys a room remembers.
#[derive(Debug, Clone, Copy)]
pub struct DedupeLimits {
    pub window: Duration,
    pub capacity: usize,
}

impl Dedupe {
    fn expire(&mut self, now: Instant, lim: DedupeLimits) {
        while let Some((key, at)) = self.order.front() {
            if now.duration_since(*at) < lim.window && self.order.len() <= lim.capacity {
                break;
            }
            self.map.remove(key);
            self.order.pop_front();
        }
    }

    pub fn get(&mut self, key: &str, now: Instant, lim: DedupeLimits) -> Option<Arc<Stored>> {
        self.expire(now, lim);
        self.map.get(key).cloned()
    }

    pub fn insert(&mut self, key: &str, stored: Arc<Stored>, now: Instant, lim: DedupeLimits) {
        if lim.capacity == 0 {
            return;
        }
        let key: Arc<str> = key.into();
        self.map.insert(key.clone(), stored);
        self.order.push_back((key, now));
        self.expire(now, lim);
    }

    /// Puts `new` where `old` was (a message folded or erased: the old copy must not outlive
    /// it here).
    pub fn replace(&mut self, old: &Arc<Stored>, new: &Arc<Stored>) {
        for v in self.map.values_mut() {
            if Arc::ptr_eq(v, old) {
                *v = new.clone();
            }
        }
    }
}
