//! Each user's upload quota: at most `--file-quota-bytes` per `--file-quota-window`, counted
//! by this node in fixed windows that start at a user's first upload (like the HTTP rate
//! limits, per node: with N nodes behind a balancer a user may upload up to N times as much).
//! An upload reserves its bytes as they arrive and gives back what it does not keep.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// See the module docs.
pub struct Quota {
    limit: u64,
    window: Duration,
    used: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Quota {
    pub fn new(limit: u64, window: Duration) -> Self {
        Quota {
            limit,
            window,
            used: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves `bytes` more for `user`, or says how long until the window ends.
    pub fn take(&self, user: &str, bytes: u64) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        if used.len() > 100_000 {
            used.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = used.entry(user.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1.saturating_add(bytes) > self.limit {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += bytes;
        Ok(())
    }

    /// Gives back `bytes` reserved for `user` (an upload that failed).
    pub fn give_back(&self, user: &str, bytes: u64) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = used.get_mut(user) {
            e.1 = e.1.saturating_sub(bytes);
        }
    }
}
