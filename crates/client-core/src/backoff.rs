//! Reconnect delays: exponential from [`BASE_MS`] to [`CAP_MS`] with "equal jitter", one set of
//! constants for every Banter client, and [`Jitter`], the tiny seeded generator that spreads them.
//!
//! Why these numbers (the bot client had 200 ms–10 s, the web app 1–30 s):
//! - **First retry after 250–500 ms.** Most drops are a proxy's idle cut, a load balancer moving
//!   the connection or a cluster node going away while the others serve: the server is there, and
//!   a user should not see "Reconnecting" for long. 200 ms left no room to spread a crowd; 1 s
//!   made every hiccup visible.
//! - **Doubling**, so a server that is really down (a restart takes about a second, a deploy a
//!   few) is tried a handful of times and then less and less often.
//! - **Capped at 10 s.** After a long outage the user waits at most that long once the server is
//!   back (the web app also offers "Connect now"); 30 s reads as broken in a chat. The price is
//!   small: 10,000 clients of a dead server try about 1,300 connections a second (mean delay
//!   7.5 s), each refused at once.
//! - **Equal jitter** (half the step fixed, half random): clients cut off together by a restart
//!   come back spread over the upper half of their step instead of in one instant, and none
//!   retries sooner than half its step, so a failing connect never spins.

/// The first step, in milliseconds (the delay is 250–500 ms).
pub const BASE_MS: u32 = 500;
/// The largest step, in milliseconds (the delay is 5–10 s).
pub const CAP_MS: u32 = 10_000;

/// Reconnect delays: `base_ms · 2^attempt`, capped at `cap_ms`, of which the upper half is random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u32,
    pub cap_ms: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: BASE_MS,
            cap_ms: CAP_MS,
        }
    }
}

impl Backoff {
    /// The full step of reconnect attempt `attempt` (0 = the first after a drop).
    pub fn step_ms(&self, attempt: u32) -> u32 {
        self.base_ms
            .saturating_mul(1 << attempt.min(16))
            .min(self.cap_ms)
    }

    /// The delay before attempt `attempt`: between half and all of its step, placed by `jitter`.
    pub fn delay_ms(&self, attempt: u32, jitter: &mut Jitter) -> u32 {
        let step = self.step_ms(attempt);
        let half = step / 2;
        let spread = (u64::from(step - half) * u64::from(jitter.next_u32())) >> 32;
        // `spread` < `step - half` <= u32::MAX: the conversion cannot fail.
        half + u32::try_from(spread).unwrap_or(0)
    }
}

/// The attempts of one client: the delay before each reconnect, back to the first step once a
/// connection was up.
#[derive(Debug, Clone)]
pub struct Reconnect {
    pub backoff: Backoff,
    attempt: u32,
    jitter: Jitter,
}

impl Reconnect {
    /// A client's attempts; `seed` should differ between clients (any random or time-based value).
    pub fn new(backoff: Backoff, seed: u64) -> Self {
        Reconnect {
            backoff,
            attempt: 0,
            jitter: Jitter::new(seed),
        }
    }

    /// The connection dropped (or could not be opened): how long to wait before the next try.
    pub fn delay_ms(&mut self) -> u32 {
        let delay = self.backoff.delay_ms(self.attempt, &mut self.jitter);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// A connection was up: the next drop starts from the first step again.
    pub fn connected(&mut self) {
        self.attempt = 0;
    }

    /// How many attempts have failed in a row.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// SplitMix64: a few lines of well-mixed pseudo-random numbers from a seed, enough to spread
/// reconnects (not for anything secret). Seeded by the caller, so the core needs no source of
/// randomness and tests are exact.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next number's high 32 bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}
