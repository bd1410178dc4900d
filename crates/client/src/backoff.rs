//! Reconnect delays as [`Duration`]s: [`banter_client_core::backoff`] (exponential with jitter,
//! one set of constants for every Banter client; its docs say why) in this library's types.

use std::time::Duration;

use banter_client_core::{Jitter, Reconnect, backoff};

/// The steps of the reconnect delays: from `base` (the first retry waits half of it to all of
/// it) doubling up to `max`. The default is the core's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(backoff::BASE_MS.into()),
            max: Duration::from_millis(backoff::CAP_MS.into()),
        }
    }
}

impl Backoff {
    fn core(&self) -> backoff::Backoff {
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        backoff::Backoff {
            base_ms: ms(self.base),
            cap_ms: ms(self.max),
        }
    }

    /// The delay before reconnect attempt `attempt` (0 = the first after a drop): between half
    /// and all of `base * 2^attempt`, capped at `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ms = self.core().delay_ms(attempt, &mut Jitter::new(seed()));
        Duration::from_millis(ms.into())
    }

    /// A client's run of attempts, seeded apart from every other client's.
    pub fn attempts(&self) -> Reconnect {
        Reconnect::new(self.core(), seed())
    }
}

/// A seed for the jitter: the random bits of a fresh UUID (v7), so clients started in the same
/// instant still spread apart.
fn seed() -> u64 {
    let id = uuid::Uuid::now_v7().as_u128();
    (id as u64) ^ ((id >> 64) as u64)
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
