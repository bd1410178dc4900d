//! Reconnect delays: exponential from `base` to `max`, with jitter so that many clients cut off
//! together do not all come back at the same instant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (0 = the first after a drop): between half
    /// and all of `base * 2^attempt`, capped at `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let full = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        let half = full / 2;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let span = half.as_nanos().max(1) as u64;
        half + Duration::from_nanos(u64::from(nanos) % span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let first = b.delay(0);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = b.delay(2);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        assert!(b.delay(30) <= Duration::from_secs(1));
    }
}
