//! The `store` scenario: how many messages per second the server makes durable, and how long a
//! sender waits for its `ack` (which Banter sends only after the commit).
//!
//! S senders, each alone in its own room (so fan-out costs nothing and the store is what is
//! measured), send `send` frames with a `client_id` that carries the send timestamp; the `ack`
//! echoes the `client_id`, so each ack gives one latency sample with the same memmem search the
//! fan-out scenario uses. Two modes:
//! - `--rate R` (> 0): open loop, R messages per second in total on a fixed schedule (latency at
//!   a given load, no coordinated omission);
//! - `--rate 0`: closed loop, each sender keeps `--inflight` messages un-acked (throughput).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use banter_protocol::ClientMsg;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client::{self, Batch, ConnSpec, Shared, lock};
use crate::procstat::{CpuMark, Proc};
use crate::report;
use crate::ws::{WsConn, op};

/// The scenario's parameters.
#[derive(Debug, Clone, Serialize)]
pub struct StoreCfg {
    pub senders: usize,
    /// Messages per second, all senders together; 0 = closed loop.
    pub rate: f64,
    /// Un-acked messages per sender in the closed loop.
    pub inflight: usize,
    #[serde(serialize_with = "report::secs")]
    pub duration: Duration,
    /// Text bytes per message.
    pub payload: usize,
    /// Texts of words drawn from [`crate::vocab`] (Zipf, some CJK) instead of `x` repeated.
    pub words: bool,
    /// Messages in total at most (each sender its share), then the run ends once all are
    /// acked; 0 = as many as `duration` allows.
    pub limit: u64,
}

/// What a store run measured.
#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    pub config: StoreCfg,
    pub connected: u64,
    pub sent: u64,
    pub acked: u64,
    /// Acks per second over the run.
    pub acked_per_sec: f64,
    /// Send to ack, in milliseconds.
    pub ack_latency_ms: report::Latency,
    /// `error` frames (e.g. `unavailable` when the write queue is full).
    pub refused: u64,
    pub server_cpu_pct: Option<f64>,
}

impl StoreReport {
    pub fn table(&self) -> String {
        let l = &self.ack_latency_ms;
        report::table(
            "store",
            &[
                ("senders", self.connected.to_string()),
                (
                    "mode",
                    if self.config.rate > 0.0 {
                        format!("open loop, {} msg/s", report::thousands(self.config.rate))
                    } else {
                        format!("closed loop, {} in flight each", self.config.inflight)
                    },
                ),
                ("acked / sent", format!("{} / {}", self.acked, self.sent)),
                ("acked per second", report::thousands(self.acked_per_sec)),
                (
                    "ack latency p50 / p99 / max",
                    format!("{:.2} / {:.2} / {:.2} ms", l.p50, l.p99, l.max),
                ),
                ("refused", self.refused.to_string()),
                ("server CPU", report::opt(self.server_cpu_pct, 0) + " %"),
            ],
        )
    }
}

/// Runs the scenario against `spec`; `pid` is the server's, for its CPU.
pub async fn run(spec: Arc<ConnSpec>, cfg: StoreCfg, pid: Option<u32>) -> StoreReport {
    let shared = Shared::new();
    let cfg = Arc::new(cfg);
    let mut conns = Vec::new();
    for i in 0..cfg.senders.max(1) {
        match connect(&spec, i).await {
            Ok(c) => conns.push(c),
            Err(e) => shared.error("store setup", &e),
        }
    }
    let server = pid.map(Proc::Pid);
    let cpu0 = server.map(CpuMark::now);
    let t0 = shared.now_us() + 10_000;
    let end = t0 + cfg.duration.as_micros() as u64;
    let mut tasks = JoinSet::new();
    let n = conns.len().max(1);
    for (i, conn) in conns.into_iter().enumerate() {
        tasks.spawn(sender(i, n, conn, cfg.clone(), shared.clone(), t0, end));
    }
    while tasks.join_next().await.is_some() {}
    let cpu1 = server.map(CpuMark::now);
    let acked = shared.deliveries.load(Relaxed);
    let last = shared.last_delivery_us.load(Relaxed);
    // A run of `limit` messages ends with its last ack; a timed one at `end`.
    let stop = if cfg.limit > 0 { last } else { last.max(end) };
    let elapsed = (stop.saturating_sub(t0)).max(1) as f64 / 1e6;
    StoreReport {
        connected: n as u64,
        sent: shared.sent.load(Relaxed),
        acked,
        acked_per_sec: acked as f64 / elapsed,
        ack_latency_ms: report::Latency::from_us(&lock(&shared.hist)),
        // Every stored message is also echoed to its sender (a member of its room): the frames
        // beyond those are the refusals.
        refused: shared.other_frames.load(Relaxed).saturating_sub(acked),
        server_cpu_pct: cpu0.zip(cpu1).and_then(|(a, b)| a.pct_until(&b)),
        config: (*cfg).clone(),
    }
}

async fn connect(spec: &ConnSpec, i: usize) -> std::io::Result<WsConn> {
    let mut conn = spec.open(i).await?;
    client::await_welcome(&mut conn).await?;
    client::join(&mut conn, &format!("store-{i}"), &format!("writer-{i}")).await?;
    Ok(conn)
}

/// One sender: sends on schedule (open loop) or to keep its window full (closed loop), and
/// counts acks with their latency until `end` (plus a short drain).
async fn sender(
    i: usize,
    n: usize,
    mut conn: WsConn,
    cfg: Arc<StoreCfg>,
    shared: Arc<Shared>,
    t0: u64,
    end: u64,
) {
    let room = format!("store-{i}");
    let plain = "x".repeat(cfg.payload.max(1));
    let mut rng = crate::vocab::Rng(i as u64 + 1);
    let quota = if cfg.limit > 0 {
        cfg.limit / n as u64 + u64::from((i as u64) < cfg.limit % n as u64)
    } else {
        u64::MAX
    };
    let period_us = if cfg.rate > 0.0 {
        (n as f64 * 1e6 / cfg.rate) as u64
    } else {
        0
    };
    let mut next_us = t0 + (i as u64 * period_us) / n as u64;
    let (mut sent, mut acked, mut k) = (0u64, 0u64, 0u64);
    let mut batch = Batch::default();
    let drain_until = end + 5_000_000;
    tokio::time::sleep_until(shared.at_us(t0)).await;
    loop {
        let now = shared.now_us();
        if now < end && sent < quota {
            let due = if period_us > 0 {
                let mut due = 0;
                while next_us <= now {
                    due += 1;
                    next_us += period_us;
                }
                due
            } else {
                (cfg.inflight as u64).saturating_sub(sent - acked)
            };
            for _ in 0..due.min(quota - sent) {
                let stamp = if period_us > 0 {
                    next_us - period_us
                } else {
                    now
                };
                let text = if cfg.words {
                    crate::vocab::vocab().text(&mut rng, cfg.payload.max(1))
                } else {
                    plain.clone()
                };
                let msg = ClientMsg::Send {
                    room: room.clone(),
                    text,
                    client_id: Some(format!("@T{stamp}.{i}.{k}")),
                    reply_to: None,
                    files: Vec::new(),
                };
                conn.tx.push(op::TEXT, msg.to_json().as_bytes());
                k += 1;
                sent += 1;
            }
            if conn.tx.flush(&conn.stream).await.is_err() {
                break;
            }
        } else if acked >= sent || now > drain_until {
            break;
        }
        let wait = if period_us > 0 && now < end && sent < quota {
            shared.at_us(next_us.min(end))
        } else {
            shared.at_us(drain_until)
        };
        tokio::select! {
            r = conn.rx.fill(&conn.stream) => {
                if !matches!(r, Ok(n) if n > 0) {
                    break;
                }
                let now = shared.now_us();
                if batch.take(&mut conn, now).is_err() {
                    break;
                }
                // Acks carry the timestamp; message echoes and errors do not.
                acked += batch.deliveries;
                batch.commit(&shared, now);
            }
            _ = tokio::time::sleep_until(wait) => {}
        }
    }
    shared.sent.fetch_add(sent, Relaxed);
}
