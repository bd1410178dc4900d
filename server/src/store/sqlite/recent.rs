//! The dedupe keys the writer stored within the dedupe window, so that an append whose
//! `client_id` is new (nearly all of them) skips the duplicate lookup in SQLite, which was half
//! of the writer's time.
//!
//! Only a "no" from this set is trusted, and only while the set is complete: it must know every
//! key stored since `now - window`. It is not complete for a window after a start that found
//! recent messages on disk (their keys were written by a previous run), nor for a window after a
//! key still inside the window had to be evicted for capacity. While it is not complete, or when
//! it says "maybe", the writer asks SQLite as before. A key it holds that was never committed (a
//! failed batch) only costs a lookup.
//!
//! Keys are held as 64-bit hashes of `(room, key)`: about 40 bytes each, no allocation per append;
//! two keys with the same hash only make a "maybe" (a lookup), never a wrong "no".

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

/// See the module docs.
pub struct RecentKeys {
    /// Key hash -> when it was last stored (ms).
    keys: HashMap<u64, u64>,
    /// Every insert, oldest first.
    order: VecDeque<(u64, u64)>,
    window_ms: u64,
    capacity: usize,
    /// From this time (ms) on, the set knows every key of the window.
    complete_from: u64,
}

impl RecentKeys {
    /// `newest_on_disk`: the time (ms) of the newest message already stored, if any.
    pub fn new(window_ms: u64, capacity: usize, newest_on_disk: Option<u64>) -> Self {
        RecentKeys {
            keys: HashMap::new(),
            order: VecDeque::new(),
            window_ms,
            capacity,
            complete_from: newest_on_disk.map_or(0, |ts| ts.saturating_add(window_ms)),
        }
    }

    fn key(room: &str, client_key: &str) -> u64 {
        let mut h = DefaultHasher::new();
        room.hash(&mut h);
        client_key.hash(&mut h);
        h.finish()
    }

    /// Whether `client_key` may have been stored in `room` within the window (`false` means it
    /// certainly was not).
    pub fn may_exist(&mut self, room: &str, client_key: &str, now: u64) -> bool {
        self.expire(now);
        now < self.complete_from || self.keys.contains_key(&Self::key(room, client_key))
    }

    /// Remembers a key being stored at `now`.
    pub fn insert(&mut self, room: &str, client_key: &str, now: u64) {
        let key = Self::key(room, client_key);
        self.keys.insert(key, now);
        self.order.push_back((key, now));
        while self.order.len() > self.capacity {
            if let Some((old, ts)) = self.order.pop_front() {
                self.forget(old, ts);
                // That key is still inside the window: until it leaves it, a "no" is unsure.
                self.complete_from = self.complete_from.max(ts.saturating_add(self.window_ms));
            }
        }
    }

    fn expire(&mut self, now: u64) {
        let cutoff = now.saturating_sub(self.window_ms);
        while self.order.front().is_some_and(|(_, ts)| *ts < cutoff) {
            if let Some((old, ts)) = self.order.pop_front() {
                self.forget(old, ts);
            }
        }
    }

    /// Drops `key`'s entry of `ts`, unless the same hash was stored again since.
    fn forget(&mut self, key: u64, ts: u64) {
        if self.keys.get(&key) == Some(&ts) {
            self.keys.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_store_trusts_its_no_and_a_restart_does_not_for_a_window() {
        let mut fresh = RecentKeys::new(1000, 10, None);
        assert!(!fresh.may_exist("r", "k", 5));
        fresh.insert("r", "k", 5);
        assert!(fresh.may_exist("r", "k", 6));
        assert!(!fresh.may_exist("other", "k", 6));
        assert!(
            !fresh.may_exist("r", "k", 2000),
            "forgotten after the window"
        );

        let mut restarted = RecentKeys::new(1000, 10, Some(500));
        assert!(
            restarted.may_exist("r", "new", 900),
            "keys on disk may be recent"
        );
        assert!(
            !restarted.may_exist("r", "new", 1600),
            "the old run's keys left the window"
        );
    }

    #[test]
    fn evicting_a_key_inside_the_window_makes_every_no_unsure_until_it_leaves() {
        let mut keys = RecentKeys::new(1000, 2, None);
        keys.insert("r", "a", 10);
        keys.insert("r", "b", 20);
        keys.insert("r", "c", 30); // evicts "a" (stored at 10) for capacity
        assert!(
            keys.may_exist("r", "a", 40),
            "a may exist: ask the database"
        );
        assert!(keys.may_exist("r", "z", 40));
        assert!(!keys.may_exist("r", "z", 1011), "a left the window at 1010");
    }
}
