//! The `fanout` scenario: N clients in one room (or spread over rooms), S of them sending at a
//! total rate R for D seconds; every client counts the timed messages it receives and records
//! their end-to-end latency.
//!
//! Load is open-loop: sender `j` sends its `k`-th message at a fixed schedule
//! `t0 + (j / R) + k · S / R`, whatever the server does, and the timestamp put in the text is that
//! scheduled time, not the moment the write happened. A server (or a load generator) that falls
//! behind therefore shows up in the latency instead of silently lowering the offered load
//! (no coordinated omission). Timers have millisecond granularity, so at high rates messages leave
//! in small bursts, each still stamped with its own scheduled time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::client::{self, Batch, ConnSpec, Dialect, Shared, lock};
use crate::procstat::{self, CpuMark, MachineMark, Proc};
use crate::report::{self, Progress};
use crate::ws::op;

/// The scenario's parameters.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutCfg {
    pub clients: usize,
    pub rooms: usize,
    pub senders: usize,
    /// Messages per second, all senders together.
    pub rate: f64,
    #[serde(serialize_with = "report::secs")]
    pub duration: Duration,
    /// Text bytes per message.
    pub payload: usize,
    /// Pause between the last join and the first send.
    #[serde(serialize_with = "report::secs")]
    pub settle: Duration,
    /// Longest wait for stragglers after the last send.
    #[serde(serialize_with = "report::secs")]
    pub drain: Duration,
    /// Connections being set up at once.
    pub connect_concurrency: usize,
    #[serde(serialize_with = "report::secs")]
    pub setup_timeout: Duration,
}

/// What a fan-out run measured.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    pub dialect: Dialect,
    pub config: FanoutCfg,
    pub connected: u64,
    pub connect_failed: u64,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub delivered_pct: f64,
    /// Deliveries the schedule asked for, per second (rate × room size).
    pub offered_deliveries_per_sec: f64,
    /// Timed messages received, per second, from the first send to the last delivery.
    pub deliveries_per_sec: f64,
    pub latency_ms: report::Latency,
    /// How late the load generator sent its latest message against schedule.
    pub max_send_lag_ms: f64,
    /// Timed frames per socket read on the load generator's side, averaged over the run: how many
    /// frames the server packs into its writes (more = better batching, fewer syscalls).
    pub frames_per_read: f64,
    /// Frames without a timestamp (presence, acks, …) received during the run.
    pub other_frames: u64,
    /// Connections the server closed (or lost) before the end.
    pub dropped: u64,
    pub close_codes: std::collections::BTreeMap<u16, u64>,
    pub errors: std::collections::BTreeMap<String, u64>,
    pub server: Option<report::ServerUse>,
    pub loadgen_cpu_pct: Option<f64>,
    /// CPU other processes on the machine used during the run, % of one core (noise indicator).
    pub others_cpu_pct: Option<f64>,
}

impl FanoutReport {
    /// The bar: ≥ 99.9 % delivered, p99 < 50 ms, every client connected.
    pub fn sustained(&self) -> bool {
        self.connected as usize == self.config.clients
            && self.delivered_pct >= 99.9
            && self.latency_ms.p99 < 50.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Setup,
    Run { t0_us: u64, end_us: u64 },
    Stop,
}

/// The room of client `idx`.
fn room_of(idx: usize, rooms: usize) -> String {
    if rooms <= 1 {
        banter_protocol::DEFAULT_ROOM.to_owned()
    } else {
        format!("bench-{}", idx % rooms)
    }
}

/// More measurements of the system under test, taken exactly when the sending phase starts and
/// when it ends (after connection setup and settling, which they should not count): a
/// cluster's other processes and Redis's counters.
pub trait Probe {
    /// Processes of the system under test besides the server's `pid`: their CPU is not counted
    /// as other processes' (the noise indicator).
    fn pids(&self) -> Vec<u32>;
    fn start(&mut self);
    fn stop(&mut self);
}

/// Runs the scenario against `spec`; `pid` is the server's, for its CPU and memory; `probe`
/// measures more of the system under test over the sending phase.
pub async fn run(
    spec: Arc<ConnSpec>,
    mut cfg: FanoutCfg,
    pid: Option<u32>,
    mut probe: Option<&mut dyn Probe>,
) -> FanoutReport {
    if spec.dialect == Dialect::Classic {
        cfg.rooms = 1; // a classic server has one room: everybody
    }
    cfg.rooms = cfg.rooms.max(1);
    cfg.senders = cfg.senders.clamp(1, cfg.clients.max(1));
    let cfg = Arc::new(cfg);
    let shared = Shared::new();
    let members: Arc<Vec<AtomicU64>> =
        Arc::new((0..cfg.rooms).map(|_| AtomicU64::new(0)).collect());
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let sem = Arc::new(Semaphore::new(cfg.connect_concurrency.max(1)));

    let mut tasks = JoinSet::new();
    for idx in 0..cfg.clients {
        tasks.spawn(client_task(
            idx,
            spec.clone(),
            cfg.clone(),
            shared.clone(),
            members.clone(),
            phase_rx.clone(),
            sem.clone(),
        ));
    }

    let progress = Progress::new("fanout", cfg.clients as u64);
    progress
        .wait_ready(&shared, cfg.clients as u64, cfg.setup_timeout)
        .await;
    tokio::time::sleep(cfg.settle).await;

    let server = pid.map(Proc::Pid);
    let extra: Vec<Proc> = probe.as_ref().map_or(Vec::new(), |p| {
        p.pids().into_iter().map(Proc::Pid).collect()
    });
    let rss_start = server.and_then(Proc::rss_bytes);
    let other_before = shared.other_frames.load(Relaxed);
    let reads_before = shared.reads.load(Relaxed);
    let delivered_before = shared.deliveries.load(Relaxed);
    if let Some(p) = probe.as_mut() {
        p.start();
    }
    let extra0: Vec<CpuMark> = extra.iter().map(|p| CpuMark::now(*p)).collect();
    let cpu0 = server.map(CpuMark::now);
    let self0 = CpuMark::now(Proc::SelfProc);
    let m0 = MachineMark::now();
    let t0_us = shared.now_us() + 20_000;
    let end_us = t0_us + cfg.duration.as_micros() as u64;
    let _ = phase_tx.send(Phase::Run { t0_us, end_us });

    let rss_peak = progress
        .run(&shared, server, t0_us, end_us, cfg.drain)
        .await;
    let cpu1 = server.map(CpuMark::now);
    let self1 = CpuMark::now(Proc::SelfProc);
    let m1 = MachineMark::now();
    let extra1: Vec<CpuMark> = extra.iter().map(|p| CpuMark::now(*p)).collect();
    if let Some(p) = probe.as_mut() {
        p.stop();
    }
    let rss_end = server.and_then(Proc::rss_bytes);
    let _ = phase_tx.send(Phase::Stop);
    let stop = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if stop.is_err() {
        tasks.abort_all();
    }

    let sent = shared.sent.load(Relaxed);
    let expected = shared.expected.load(Relaxed);
    let delivered = shared.deliveries.load(Relaxed);
    let last = shared.last_delivery_us.load(Relaxed).max(end_us);
    let hist = lock(&shared.hist).clone();
    let connected = shared.ready.load(Relaxed);
    let room_size = connected as f64 / cfg.rooms as f64;
    FanoutReport {
        dialect: spec.dialect,
        connected,
        connect_failed: shared.failed.load(Relaxed),
        sent,
        expected,
        delivered,
        delivered_pct: if expected == 0 {
            0.0
        } else {
            delivered as f64 * 100.0 / expected as f64
        },
        offered_deliveries_per_sec: cfg.rate * room_size,
        deliveries_per_sec: delivered as f64 / ((last - t0_us) as f64 / 1e6),
        latency_ms: report::Latency::from_us(&hist),
        frames_per_read: (delivered - delivered_before) as f64
            / (shared.reads.load(Relaxed) - reads_before).max(1) as f64,
        max_send_lag_ms: shared.max_send_lag_us.load(Relaxed) as f64 / 1000.0,
        other_frames: shared.other_frames.load(Relaxed) - other_before,
        dropped: shared.dropped.load(Relaxed),
        close_codes: lock(&shared.close_codes).clone(),
        errors: lock(&shared.errors).clone(),
        server: server.map(|_| report::ServerUse {
            cpu_pct: cpu0.zip(cpu1).and_then(|(a, b)| a.pct_until(&b)),
            rss_start_mb: rss_start.map(report::mb),
            rss_end_mb: rss_end.map(report::mb),
            rss_peak_mb: rss_peak.map(report::mb),
        }),
        loadgen_cpu_pct: self0.pct_until(&self1),
        others_cpu_pct: procstat::others_pct(
            (m0, m1),
            &[(cpu0, cpu1), (Some(self0), Some(self1))]
                .into_iter()
                .chain(
                    extra0
                        .into_iter()
                        .zip(extra1)
                        .map(|(a, b)| (Some(a), Some(b))),
                )
                .collect::<Vec<_>>(),
        ),
        config: Arc::unwrap_or_clone(cfg),
    }
}

/// One client: connect and join under the semaphore, then receive (and, for the first
/// `senders` clients, send on schedule) until told to stop.
async fn client_task(
    idx: usize,
    spec: Arc<ConnSpec>,
    cfg: Arc<FanoutCfg>,
    shared: Arc<Shared>,
    members: Arc<Vec<AtomicU64>>,
    mut phase_rx: watch::Receiver<Phase>,
    sem: Arc<Semaphore>,
) {
    let room_idx = idx % cfg.rooms;
    let room = room_of(idx, cfg.rooms);
    let name = format!("lg{idx}");
    let permit = sem.acquire().await;
    let setup = async {
        let mut conn = spec.open(idx).await?;
        if spec.dialect == Dialect::Banter {
            client::await_welcome(&mut conn).await?;
            client::join(&mut conn, &room, &name).await?;
        }
        Ok::<_, std::io::Error>(conn)
    };
    let Some(mut conn) = shared.set_up(cfg.setup_timeout, setup).await else {
        return;
    };
    drop(permit);
    members[room_idx].fetch_add(1, Relaxed);
    shared.ready.fetch_add(1, Relaxed);

    // Sender schedule: per-sender interval and this sender's phase offset, in µs.
    let sending = idx < cfg.senders;
    let interval_us = cfg.senders as f64 * 1e6 / cfg.rate.max(1e-9);
    let offset_us = idx as f64 * 1e6 / cfg.rate.max(1e-9);
    let sched = |t0: u64, k: u64| t0 + (offset_us + k as f64 * interval_us) as u64;
    let mut next_k: u64 = 0;

    let mut phase = *phase_rx.borrow();
    let mut batch = Batch::default();
    // The phase-change future lives across iterations (creating one per wake-up registers and
    // unregisters a waiter each time, which showed in the profile).
    'phases: loop {
        {
            let changed = phase_rx.changed();
            tokio::pin!(changed);
            loop {
                let due = match phase {
                    Phase::Run { t0_us, end_us } if sending => {
                        Some(sched(t0_us, next_k)).filter(|&s| s < end_us)
                    }
                    _ => None,
                };
                tokio::select! {
                    biased;
                    res = &mut changed => {
                        if res.is_err() {
                            break 'phases;
                        }
                        break;
                    }
                    r = conn.rx.fill(&conn.stream) => {
                        match r {
                            Ok(0) => {
                                shared.dropped.fetch_add(1, Relaxed);
                                shared.error("receive", &"connection closed without close frame");
                                return;
                            }
                            Err(e) => {
                                shared.dropped.fetch_add(1, Relaxed);
                                shared.error("receive", &e);
                                return;
                            }
                            Ok(_) => {}
                        }
                        let now = shared.now_us();
                        if let Err(e) = batch.take(&mut conn, now) {
                            shared.error("protocol", &e);
                        }
                        batch.commit(&shared, now);
                        if let Some(code) = batch.closed.take() {
                            shared.close_code(code);
                            shared.dropped.fetch_add(1, Relaxed);
                            return;
                        }
                        if !conn.tx.is_empty() && conn.tx.flush(&conn.stream).await.is_err() {
                            shared.dropped.fetch_add(1, Relaxed);
                            return;
                        }
                    }
                    _ = tokio::time::sleep_until(shared.at_us(due.unwrap_or(0))), if due.is_some() => {
                        let Phase::Run { t0_us, end_us } = phase else { continue };
                        let now = shared.now_us();
                        let mut n = 0u64;
                        // At most 1,000 per burst, so a late sender still interleaves with receiving.
                        while n < 1000 {
                            let s = sched(t0_us, next_k);
                            if s > now || s >= end_us {
                                break;
                            }
                            if n == 0 {
                                shared.max_send_lag_us.fetch_max(now - s, Relaxed);
                            }
                            let json = client::post_json(
                                spec.dialect,
                                &name,
                                &room,
                                client::timed_text(s, cfg.payload),
                            );
                            conn.tx.push(op::TEXT, json.as_bytes());
                            next_k += 1;
                            n += 1;
                        }
                        if n > 0 {
                            // Every client of the room receives it, the sender included.
                            let m = members[room_idx].load(Relaxed);
                            shared.expected.fetch_add(n * m, Relaxed);
                            shared.sent.fetch_add(n, Relaxed);
                            if let Err(e) = conn.tx.flush(&conn.stream).await {
                                shared.error("send", &e);
                                shared.dropped.fetch_add(1, Relaxed);
                                return;
                            }
                        }
                    }
                }
            }
        }
        phase = *phase_rx.borrow();
        if phase == Phase::Stop {
            break;
        }
    }
    // Say goodbye without waiting for the answer.
    conn.tx.push(op::CLOSE, &1000u16.to_be_bytes());
    let _ = conn.tx.flush(&conn.stream).await;
}

impl FanoutReport {
    /// The end-of-run table.
    pub fn table(&self) -> String {
        use report::{opt, thousands};
        let c = &self.config;
        let l = &self.latency_ms;
        let mut rows = vec![
            ("dialect", format!("{:?}", self.dialect).to_lowercase()),
            (
                "clients",
                format!(
                    "{} connected of {} ({} failed), {} room(s)",
                    self.connected, c.clients, self.connect_failed, c.rooms
                ),
            ),
            (
                "load",
                format!(
                    "{} senders, {} msg/s total, {} B text, {:.1} s",
                    c.senders,
                    thousands(c.rate),
                    c.payload,
                    c.duration.as_secs_f64()
                ),
            ),
            ("messages sent", thousands(self.sent as f64)),
            (
                "deliveries",
                format!(
                    "{} of {} expected ({:.3} %)",
                    thousands(self.delivered as f64),
                    thousands(self.expected as f64),
                    self.delivered_pct
                ),
            ),
            (
                "deliveries/s",
                format!(
                    "{} (offered {})",
                    thousands(self.deliveries_per_sec),
                    thousands(self.offered_deliveries_per_sec)
                ),
            ),
            (
                "latency ms",
                format!(
                    "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                    l.p50, l.p90, l.p99, l.p999, l.max
                ),
            ),
            ("max send lag ms", format!("{:.2}", self.max_send_lag_ms)),
            ("frames per read", format!("{:.2}", self.frames_per_read)),
            ("other frames", thousands(self.other_frames as f64)),
            (
                "dropped conns",
                format!("{} {:?}", self.dropped, self.close_codes),
            ),
        ];
        if let Some(s) = &self.server {
            rows.push((
                "server",
                format!(
                    "CPU {} %, RSS {} → {} MiB (peak {})",
                    opt(s.cpu_pct, 0),
                    opt(s.rss_start_mb, 1),
                    opt(s.rss_end_mb, 1),
                    opt(s.rss_peak_mb, 1)
                ),
            ));
        }
        rows.push(("loadgen CPU %", opt(self.loadgen_cpu_pct, 0)));
        rows.push(("other processes CPU %", opt(self.others_cpu_pct, 0)));
        rows.push((
            "sustained?",
            if self.sustained() {
                "yes (≥ 99.9 % delivered, p99 < 50 ms)".into()
            } else {
                "no".into()
            },
        ));
        for (e, n) in &self.errors {
            rows.push(("error", format!("{n} × {e}")));
        }
        report::table("fanout", &rows)
    }
}
