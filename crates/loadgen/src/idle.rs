//! The `idle` scenario: open N connections, keep them open and quiet (answering pings), and
//! report how much resident memory the server grew by, per connection.
//!
//! Memory per connection = (server RSS with N connections settled − RSS before the first one) / N.
//! RSS includes everything the allocator holds on to, which is what an operator pays for.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::client::{self, Batch, ConnSpec, Dialect, Shared, lock};
use crate::procstat::{CpuMark, Proc};
use crate::report::{self, Progress};
use crate::ws::op;

#[derive(Debug, Clone, Serialize)]
pub struct IdleCfg {
    pub conns: usize,
    /// Banter dialect: also join a room (spread over this many rooms); 0 = no join.
    pub join_rooms: usize,
    /// Wait after the last connection before measuring.
    #[serde(serialize_with = "report::secs")]
    pub settle: Duration,
    /// How long to hold the connections after measuring (checks they stay up).
    #[serde(serialize_with = "report::secs")]
    pub hold: Duration,
    pub connect_concurrency: usize,
    #[serde(serialize_with = "report::secs")]
    pub setup_timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    pub dialect: Dialect,
    pub config: IdleCfg,
    pub connected: u64,
    pub connect_failed: u64,
    /// Connections per second while opening them all.
    pub setup_per_sec: f64,
    pub server_rss_before_mb: Option<f64>,
    pub server_rss_after_mb: Option<f64>,
    /// The headline: server RSS growth per open connection, in bytes.
    pub server_bytes_per_conn: Option<f64>,
    /// Server CPU while the connections sat idle.
    pub server_idle_cpu_pct: Option<f64>,
    pub loadgen_bytes_per_conn: Option<f64>,
    /// Connections lost while holding.
    pub dropped: u64,
    pub errors: std::collections::BTreeMap<String, u64>,
}

/// Runs the scenario against `spec`; `pid` is the server's (without it only counts are reported).
pub async fn run(spec: Arc<ConnSpec>, cfg: IdleCfg, pid: Option<u32>) -> IdleReport {
    let cfg = Arc::new(cfg);
    let shared = Shared::new();
    let server = pid.map(Proc::Pid);
    let rss_before = server.and_then(Proc::rss_bytes);
    let self_before = Proc::SelfProc.rss_bytes();
    let (stop_tx, stop_rx) = watch::channel(false);
    let sem = Arc::new(Semaphore::new(cfg.connect_concurrency.max(1)));
    let started = std::time::Instant::now();
    let mut tasks = JoinSet::new();
    for idx in 0..cfg.conns {
        tasks.spawn(client_task(
            idx,
            spec.clone(),
            cfg.clone(),
            shared.clone(),
            stop_rx.clone(),
            sem.clone(),
        ));
    }
    let progress = Progress::new("idle", cfg.conns as u64);
    progress
        .wait_ready(&shared, cfg.conns as u64, cfg.setup_timeout)
        .await;
    let setup_secs = started.elapsed().as_secs_f64();
    progress.set(shared.ready.load(Relaxed), "settling".into());
    tokio::time::sleep(cfg.settle).await;
    let rss_after = server.and_then(Proc::rss_bytes);
    let self_after = Proc::SelfProc.rss_bytes();
    let connected = shared.ready.load(Relaxed);
    let cpu0 = server.map(CpuMark::now);
    progress.set(connected, "holding".into());
    tokio::time::sleep(cfg.hold).await;
    let cpu1 = server.map(CpuMark::now);
    progress.finish();
    let _ = stop_tx.send(true);
    let stop = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if stop.is_err() {
        tasks.abort_all();
    }
    let per = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if connected > 0 => Some((b as f64 - a as f64) / connected as f64),
        _ => None,
    };
    IdleReport {
        dialect: spec.dialect,
        connected,
        connect_failed: shared.failed.load(Relaxed),
        setup_per_sec: connected as f64 / setup_secs.max(1e-9),
        server_rss_before_mb: rss_before.map(report::mb),
        server_rss_after_mb: rss_after.map(report::mb),
        server_bytes_per_conn: per(rss_before, rss_after),
        server_idle_cpu_pct: cpu0.zip(cpu1).and_then(|(a, b)| a.pct_until(&b)),
        loadgen_bytes_per_conn: per(self_before, self_after),
        dropped: shared.dropped.load(Relaxed),
        errors: lock(&shared.errors).clone(),
        config: Arc::unwrap_or_clone(cfg),
    }
}

async fn client_task(
    idx: usize,
    spec: Arc<ConnSpec>,
    cfg: Arc<IdleCfg>,
    shared: Arc<Shared>,
    mut stop_rx: watch::Receiver<bool>,
    sem: Arc<Semaphore>,
) {
    let permit = sem.acquire().await;
    let setup = async {
        let mut conn = spec.open(idx).await?;
        if spec.dialect == Dialect::Banter {
            client::await_welcome(&mut conn).await?;
            if cfg.join_rooms > 0 {
                let room = format!("idle-{}", idx % cfg.join_rooms);
                client::join(&mut conn, &room, &format!("idle{idx}")).await?;
            }
        }
        Ok::<_, std::io::Error>(conn)
    };
    let Some(mut conn) = shared.set_up(cfg.setup_timeout, setup).await else {
        return;
    };
    drop(permit);
    shared.ready.fetch_add(1, Relaxed);
    let mut batch = Batch::default();
    loop {
        tokio::select! {
            _ = stop_rx.changed() => break,
            r = conn.rx.fill(&conn.stream) => {
                if !matches!(r, Ok(n) if n > 0) {
                    shared.dropped.fetch_add(1, Relaxed);
                    return;
                }
                let now = shared.now_us();
                if let Err(e) = batch.take(&mut conn, now) {
                    shared.error("protocol", &e);
                }
                batch.commit(&shared, now);
                if batch.closed.take().is_some() {
                    shared.dropped.fetch_add(1, Relaxed);
                    return;
                }
                if !conn.tx.is_empty() && conn.tx.flush(&conn.stream).await.is_err() {
                    shared.dropped.fetch_add(1, Relaxed);
                    return;
                }
            }
        }
    }
    conn.tx.push(op::CLOSE, &1000u16.to_be_bytes());
    let _ = conn.tx.flush(&conn.stream).await;
}

impl IdleReport {
    /// The end-of-run table.
    pub fn table(&self) -> String {
        use report::{opt, thousands};
        let mut rows = vec![
            ("dialect", format!("{:?}", self.dialect).to_lowercase()),
            (
                "connections",
                format!(
                    "{} of {} ({} failed, {} dropped)",
                    self.connected, self.config.conns, self.connect_failed, self.dropped
                ),
            ),
            ("setup rate", format!("{}/s", thousands(self.setup_per_sec))),
            (
                "server RSS MiB",
                format!(
                    "{} → {}",
                    opt(self.server_rss_before_mb, 1),
                    opt(self.server_rss_after_mb, 1)
                ),
            ),
            ("server bytes/conn", opt(self.server_bytes_per_conn, 0)),
            ("server idle CPU %", opt(self.server_idle_cpu_pct, 1)),
            ("loadgen bytes/conn", opt(self.loadgen_bytes_per_conn, 0)),
        ];
        for (e, n) in &self.errors {
            rows.push(("error", format!("{n} × {e}")));
        }
        report::table("idle", &rows)
    }
}
