//! Slowing password guessing (docs/security.md, "Guessing"):
//! - per client address, every login and sign-up attempt counts (governor's GCRA:
//!   `--login-per-address-per-min`, a burst of as many);
//! - per name, only failures count: after `--login-free-failures` of them, each further one
//!   doubles the wait before the next attempt (1 s, 2 s, ...), up to `--login-max-wait`; a
//!   success forgets them, and so do 15 quiet minutes.
//!
//! An attacker cannot lock a real user out for long: the wait for a name is never longer than
//! `--login-max-wait` after the last failure, and a device that has signed in as that name
//! before (it sends a session cookie for it, even an expired or revoked one) is never made to
//! wait for the name (only for its own address).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failures of a name are forgotten after this long without another.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Names tracked at most: past it, the oldest quiet ones are forgotten first.
const MAX_NAMES: usize = 100_000;

/// See the module docs.
pub struct Guesses {
    by_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    names: Mutex<HashMap<String, Failures>>,
    free: u32,
    max_wait: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Guesses {
    pub fn new(per_ip_per_min: u32, free: u32, max_wait: Duration) -> Self {
        let by_ip = NonZeroU32::new(per_ip_per_min)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)));
        Guesses {
            by_ip,
            clock: DefaultClock::default(),
            names: Mutex::default(),
            free,
            max_wait,
        }
    }

    /// One attempt from `ip`: `Err(retry_after)` when it is over its rate.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(l) = &self.by_ip else { return Ok(()) };
        if l.len() >= MAX_NAMES {
            l.retain_recent();
        }
        l.check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Whether `name` may be tried now: `Err(retry_after)` while its failures make it wait.
    pub fn check_name(&self, name: &str) -> Result<(), Duration> {
        let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(f) = names.get(name) else {
            return Ok(());
        };
        let until = f.last + self.wait(f.count);
        match until.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Err(left),
            _ => Ok(()),
        }
    }

    /// How long `count` failures make the next attempt wait.
    fn wait(&self, count: u32) -> Duration {
        if count < self.free {
            return Duration::ZERO;
        }
        let doublings = (count - self.free).min(30);
        Duration::from_secs(1u64 << doublings).min(self.max_wait)
    }

    /// A failed attempt for `name`.
    pub fn failed(&self, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if names.len() >= MAX_NAMES {
            names.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        let f = names.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    /// A successful sign-in as `name`: its failures are forgotten.
    pub fn succeeded(&self, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        names.remove(name);
    }

    /// Forgets what no longer counts. Call every few seconds.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        if let Some(l) = &self.by_ip {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_double_the_wait_up_to_the_cap() {
        let g = Guesses::new(0, 2, Duration::from_secs(4));
        assert_eq!(g.wait(1), Duration::ZERO);
        assert_eq!(g.wait(2), Duration::from_secs(1));
        assert_eq!(g.wait(3), Duration::from_secs(2));
        assert_eq!(g.wait(40), Duration::from_secs(4));
        g.failed("ada");
        g.failed("ada");
        assert!(g.check_name("ada").is_err());
        assert!(g.check_name("bob").is_ok());
        g.succeeded("ada");
        assert!(g.check_name("ada").is_ok());
    }

    #[test]
    fn an_address_over_its_rate_waits() {
        let g = Guesses::new(2, 5, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        g.check_ip(ip).unwrap();
        g.check_ip(ip).unwrap();
        assert!(g.check_ip(ip).is_err());
        g.check_ip([10, 0, 0, 2].into()).unwrap();
    }
}
