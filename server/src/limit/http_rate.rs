//! `--http-rate-per-sec`: HTTP requests per client address and, with a token, per user, with
//! governor's keyed limiters (GCRA, one small cell per key). Over the rate the answer is `429`
//! with `retry-after`.
//!
//! Memory is bounded: keys idle long enough to be back at a full burst carry no information and
//! are dropped by [`HttpRate::sweep`] (run every few seconds); and when `--http-rate-keys` are
//! tracked at once, new keys are refused (429) until a sweep frees room. Under an attack from
//! more addresses than that, new addresses wait a few seconds; memory does not grow.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The HTTP rate limiters. Cheap to clone.
#[derive(Clone)]
pub struct HttpRate {
    inner: Option<Arc<Limiters>>,
}

struct Limiters {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_user: DefaultKeyedRateLimiter<Arc<str>>,
    max_keys: usize,
    clock: DefaultClock,
}

impl HttpRate {
    /// `per_sec` requests per second with `burst`; `per_sec == 0` disables the limit.
    pub fn new(per_sec: u32, burst: u32, max_keys: usize) -> Self {
        let inner = NonZeroU32::new(per_sec).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            Arc::new(Limiters {
                by_ip: RateLimiter::keyed(quota),
                by_user: RateLimiter::keyed(quota),
                max_keys: max_keys.max(1),
                clock: DefaultClock::default(),
            })
        });
        HttpRate { inner }
    }

    /// One request from `ip`: `Err(retry_after)` when over the rate.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        match &self.inner {
            Some(l) => l.check(&l.by_ip, &ip),
            None => Ok(()),
        }
    }

    /// One request with a token for `user`: `Err(retry_after)` when over the rate.
    pub fn check_user(&self, user: &Arc<str>) -> Result<(), Duration> {
        match &self.inner {
            Some(l) => l.check(&l.by_user, user),
            None => Ok(()),
        }
    }

    /// Forgets keys that are back at a full burst. Call every few seconds.
    pub fn sweep(&self) {
        if let Some(l) = &self.inner {
            for limiter in [&l.by_ip as &dyn Sweep, &l.by_user] {
                limiter.sweep();
            }
        }
    }

    /// Keys tracked (addresses + users).
    pub fn tracked(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |l| l.by_ip.len() + l.by_user.len())
    }
}

impl Limiters {
    fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), Duration> {
        if limiter.len() >= self.max_keys {
            limiter.retain_recent();
            if limiter.len() >= self.max_keys {
                return Err(Duration::from_secs(1));
            }
        }
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

trait Sweep {
    fn sweep(&self);
}

impl<K: Hash + Eq + Clone> Sweep for DefaultKeyedRateLimiter<K> {
    fn sweep(&self) {
        self.retain_recent();
        self.shrink_to_fit();
    }
}

/// Whole seconds to announce in `retry-after` (at least 1).
pub fn retry_after_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_its_burst_waits_while_another_is_served() {
        let r = HttpRate::new(1, 3, 100);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            r.check_ip(a).unwrap();
        }
        let wait = r.check_ip(a).unwrap_err();
        assert!(wait <= Duration::from_secs(1));
        assert_eq!(retry_after_secs(wait), 1);
        r.check_ip(b).unwrap();
        r.check_user(&"ada".into()).unwrap();
        assert_eq!(r.tracked(), 3);
        assert!(HttpRate::new(0, 0, 1).check_ip(a).is_ok());
    }

    #[test]
    fn the_key_table_is_bounded() {
        let r = HttpRate::new(1, 1, 2);
        r.check_ip([10, 0, 0, 1].into()).unwrap();
        r.check_ip([10, 0, 0, 2].into()).unwrap();
        assert!(r.check_ip([10, 0, 0, 3].into()).is_err());
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }
}
