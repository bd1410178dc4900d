//! What the writer logs when commits fail: once per burst of failures, not once per message.
//!
//! A full store (`--store-max-bytes`, or the disk) refuses every post until space is freed; a
//! busy server would otherwise log a line per batch, thousands a second. The first failed commit
//! of a burst is logged as an error with the cause and what to do; while the burst lasts only a
//! reminder with the count of refused messages is logged, at most once a minute. A burst ends
//! with one line saying how many were refused, at the first commit that succeeds [`QUIET`] after
//! the last failure: a nearly full store lets small batches through between refused ones, and
//! that is still one burst.

use std::time::{Duration, Instant};

/// How often a burst that goes on is logged again.
const REMIND_EVERY: Duration = Duration::from_secs(60);

/// How long without a failure ends a burst.
const QUIET: Duration = Duration::from_secs(10);

/// A burst of failed commits in progress.
struct Burst {
    started: Instant,
    last_failure: Instant,
    last_logged: Instant,
    refused: u64,
    refused_since_log: u64,
}

/// See the module docs.
#[derive(Default)]
pub struct FailureLog {
    burst: Option<Burst>,
}

impl FailureLog {
    /// A commit of `refused` messages failed with `error` (`full`: no space left).
    pub fn failed(&mut self, error: &rusqlite::Error, full: bool, refused: usize) {
        let now = Instant::now();
        let refused = refused as u64;
        match &mut self.burst {
            None => {
                if full {
                    tracing::error!(
                        %error,
                        refused,
                        "the store is full (--store-max-bytes, or the disk): posts are refused \
                         until space is freed (raise the limit, free disk space, or set retention)"
                    );
                } else {
                    tracing::error!(%error, refused, "store commit failed: messages refused");
                }
                self.burst = Some(Burst {
                    started: now,
                    last_failure: now,
                    last_logged: now,
                    refused,
                    refused_since_log: 0,
                });
            }
            Some(b) => {
                b.last_failure = now;
                b.refused += refused;
                b.refused_since_log += refused;
                if now.duration_since(b.last_logged) >= REMIND_EVERY {
                    tracing::error!(
                        %error,
                        refused = b.refused_since_log,
                        since = ?now.duration_since(b.started),
                        "store commits still failing: messages refused"
                    );
                    b.last_logged = now;
                    b.refused_since_log = 0;
                }
            }
        }
    }

    /// A commit succeeded: ends a burst of failures, if one was going on and its last failure
    /// is [`QUIET`] old.
    pub fn succeeded(&mut self) {
        if self
            .burst
            .as_ref()
            .is_some_and(|b| b.last_failure.elapsed() >= QUIET)
            && let Some(b) = self.burst.take()
        {
            tracing::warn!(
                refused = b.refused,
                lasted = ?b.started.elapsed(),
                "store commits succeed again"
            );
        }
    }
}
