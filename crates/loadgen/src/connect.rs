//! The `connect` scenario: connection setup rate. C workers each loop for D seconds over
//! TCP connect → WebSocket upgrade → (Banter dialect) the `welcome` frame → close handshake.
//!
//! A connection counts when it is usable: upgraded, and for Banter once `welcome` arrived (the
//! server has registered the session). Setup latency is measured to that point. The close handshake
//! is then completed (close frame, then wait for the server to close TCP, bounded to one second) so
//! TIME_WAIT lands on the server's side and the client's ephemeral ports are not exhausted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::client::{self, ConnSpec, Dialect, Shared, lock};
use crate::procstat::{self, CpuMark, MachineMark, Proc};
use crate::report::{self, Progress};

#[derive(Debug, Clone, Serialize)]
pub struct ConnectCfg {
    #[serde(serialize_with = "report::secs")]
    pub duration: Duration,
    /// Connections being set up at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectReport {
    pub dialect: Dialect,
    pub config: ConnectCfg,
    pub completed: u64,
    pub failed: u64,
    pub connects_per_sec: f64,
    /// Connect to usable, in milliseconds.
    pub setup_latency_ms: report::Latency,
    pub server: Option<report::ServerUse>,
    pub loadgen_cpu_pct: Option<f64>,
    /// CPU other processes on the machine used during the run, % of one core (noise indicator).
    pub others_cpu_pct: Option<f64>,
    pub errors: std::collections::BTreeMap<String, u64>,
}

pub async fn run(spec: Arc<ConnSpec>, cfg: ConnectCfg, pid: Option<u32>) -> ConnectReport {
    let shared = Shared::new();
    let completed = Arc::new(AtomicU64::new(0));
    let server = pid.map(Proc::Pid);
    let rss_start = server.and_then(Proc::rss_bytes);
    let cpu0 = server.map(CpuMark::now);
    let self0 = CpuMark::now(Proc::SelfProc);
    let m0 = MachineMark::now();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + cfg.duration;
    let workers = cfg.concurrency.max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (spec, shared, completed) = (spec.clone(), shared.clone(), completed.clone());
        tasks.spawn(async move {
            let mut i = 0usize;
            while tokio::time::Instant::now() < deadline {
                let idx = w + i * workers;
                i += 1;
                let t = Instant::now();
                let open = async {
                    let mut conn = spec.open(idx).await?;
                    if spec.dialect == Dialect::Banter {
                        client::await_welcome(&mut conn).await?;
                    }
                    Ok::<_, std::io::Error>(conn)
                };
                match tokio::time::timeout_at(deadline + Duration::from_secs(2), open).await {
                    Ok(Ok(conn)) => {
                        let us = t.elapsed().as_micros() as u64;
                        lock(&shared.hist).saturating_record(us.max(1));
                        completed.fetch_add(1, Relaxed);
                        let _ =
                            tokio::time::timeout(Duration::from_secs(1), conn.close(1000)).await;
                    }
                    Ok(Err(e)) => {
                        shared.error("connect", &e);
                        shared.failed.fetch_add(1, Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(_) => {
                        shared.error("connect", &"timed out");
                        shared.failed.fetch_add(1, Relaxed);
                    }
                }
            }
        });
    }
    let progress = Progress::new("connect", cfg.duration.as_millis() as u64);
    while !tasks.is_empty() {
        tokio::select! {
            _ = tasks.join_next() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                let el = started.elapsed();
                progress.set(
                    (el.as_millis() as u64).min(cfg.duration.as_millis() as u64),
                    format!(
                        "{} connects · {:.0}/s",
                        completed.load(Relaxed),
                        completed.load(Relaxed) as f64 / el.as_secs_f64()
                    ),
                );
            }
        }
    }
    progress.finish();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu1 = server.map(CpuMark::now);
    let self1 = CpuMark::now(Proc::SelfProc);
    let m1 = MachineMark::now();
    let done = completed.load(Relaxed);
    let server_use = server.map(|s| report::ServerUse {
        cpu_pct: cpu0.zip(cpu1).and_then(|(a, b)| a.pct_until(&b)),
        rss_start_mb: rss_start.map(report::mb),
        rss_end_mb: s.rss_bytes().map(report::mb),
        rss_peak_mb: s.peak_rss_bytes().map(report::mb),
    });
    ConnectReport {
        dialect: spec.dialect,
        completed: done,
        failed: shared.failed.load(Relaxed),
        connects_per_sec: done as f64 / elapsed.max(1e-9),
        setup_latency_ms: report::Latency::from_us(&lock(&shared.hist)),
        server: server_use,
        loadgen_cpu_pct: self0.pct_until(&self1),
        others_cpu_pct: procstat::others_pct((m0, m1), &[(cpu0, cpu1), (Some(self0), Some(self1))]),
        errors: lock(&shared.errors).clone(),
        config: cfg,
    }
}

impl ConnectReport {
    /// The end-of-run table.
    pub fn table(&self) -> String {
        use report::{opt, thousands};
        let l = &self.setup_latency_ms;
        let mut rows = vec![
            ("dialect", format!("{:?}", self.dialect).to_lowercase()),
            (
                "workers",
                format!(
                    "{} for {:.1} s",
                    self.config.concurrency,
                    self.config.duration.as_secs_f64()
                ),
            ),
            (
                "completed",
                format!(
                    "{} ({} failed)",
                    thousands(self.completed as f64),
                    self.failed
                ),
            ),
            ("connects/s", thousands(self.connects_per_sec)),
            (
                "setup ms",
                format!("p50 {:.2}  p99 {:.2}  max {:.2}", l.p50, l.p99, l.max),
            ),
            ("server CPU %", opt(self.server.and_then(|s| s.cpu_pct), 0)),
            ("loadgen CPU %", opt(self.loadgen_cpu_pct, 0)),
            ("other processes CPU %", opt(self.others_cpu_pct, 0)),
        ];
        for (e, n) in &self.errors {
            rows.push(("error", format!("{n} × {e}")));
        }
        report::table("connect", &rows)
    }
}
