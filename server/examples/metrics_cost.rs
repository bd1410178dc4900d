//! What counting adds to fan-out, measured in isolation (a shared machine makes end-to-end load
//! tests too noisy for a difference this small): one message queued to 1,000 members' outboxes,
//! the hub's per-member work, with and without what `RoomState::apply` adds for metrics (one
//! counter add, and for one message in 16 two clock reads and a histogram sample). Alternating rounds; the minimum of each
//! is the least disturbed. Then the counting alone, per message, which is the cost itself (the
//! difference between the two fan-out timings is within their noise).
//!
//! `cargo run --release -p banter-server --example metrics_cost`

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use banter_server::frame::Frame;
use banter_server::metrics;
use banter_server::outbox::{Outbound, Outbox};

const MEMBERS: usize = 1000;
const MESSAGES: usize = 1000;
const ROUNDS: usize = 30;

fn round(outboxes: &[Outbox], frame: &Frame, counted: bool) -> Duration {
    let started = Instant::now();
    for _ in 0..MESSAGES {
        let timer = if counted {
            metrics::fanout_timer()
        } else {
            None
        };
        for o in outboxes {
            o.push(Outbound::Frame(frame.clone()));
        }
        if counted {
            metrics::fanout(outboxes.len(), timer);
        }
    }
    let took = started.elapsed();
    let mut batch = VecDeque::new();
    for o in outboxes {
        o.take(&mut batch);
        batch.clear();
    }
    took / MESSAGES as u32
}

/// Nanoseconds of what one fan-out adds for metrics, on its own.
fn counting_only() -> f64 {
    const N: u32 = 1_000_000;
    let started = Instant::now();
    for _ in 0..N {
        let timer = metrics::fanout_timer();
        metrics::fanout(std::hint::black_box(MEMBERS), timer);
    }
    started.elapsed().as_nanos() as f64 / f64::from(N)
}

fn main() {
    metrics::init();
    let outboxes: Vec<Outbox> = (0..MEMBERS)
        .map(|_| Outbox::new(MESSAGES + 1, usize::MAX))
        .collect();
    let frame = Frame::from("x".repeat(200));
    let (mut plain, mut counted) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        plain = plain.min(round(&outboxes, &frame, false));
        counted = counted.min(round(&outboxes, &frame, true));
    }
    let alone = (0..5).map(|_| counting_only()).fold(f64::MAX, f64::min);
    println!(
        "one message to {MEMBERS} members: {plain:?} without metrics, {counted:?} with; \
         the counting alone: {alone:.0} ns per message = {:.2} % of that fan-out \
         ({:.3} ns per delivery)",
        alone / plain.as_nanos() as f64 * 100.0,
        alone / MEMBERS as f64
    );
}
