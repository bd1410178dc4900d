//! The byte budget shared by every room's hot window (`--hot-window-bytes`).
//!
//! Each room's window is also bounded by count (`--history`); the budget bounds their sum, so
//! memory stays bounded however many rooms are busy. A room that pushes while the budget is
//! spent evicts its own oldest messages (keeping at least its newest); rooms that empty out are
//! unloaded and give their bytes back. What leaves a window is still in the store: a replay
//! reaching below a window reads it from there.

use std::sync::atomic::{AtomicUsize, Ordering};

/// See the module docs.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    pub fn add(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn sub(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Whether the windows hold more than the budget.
    pub fn over(&self) -> bool {
        self.used.load(Ordering::Relaxed) > self.limit
    }

    /// Bytes held by hot windows now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}
