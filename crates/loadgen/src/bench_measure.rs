//! How a bench measures: a fresh server per run, started after the machine went quiet and run
//! again while other processes disturbed it ([`measure`], [`measure_on`]); the medians, the
//! file-name stamp and the machine's description the results carry.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Common;
use crate::bench_args::{BenchArgs, Run};
use crate::bench_server::{Kind, Server};
use crate::client::ConnSpec;
use crate::procstat::MachineMark;

/// Which run: the round, the server, the scenario and (fan-out) the target rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    round: usize,
    server: Kind,
    scenario: &'static str,
    target: Option<u64>,
}

impl Slot {
    pub(crate) fn new(
        round: usize,
        server: Kind,
        scenario: &'static str,
        target: Option<u64>,
    ) -> Slot {
        Slot {
            round,
            server,
            scenario,
            target,
        }
    }
}

/// What a comparison has done so far: the next port, every run, and what its smoke check
/// found wrong.
pub(crate) struct Session<'a> {
    pub(crate) common: &'a Common,
    pub(crate) port: u16,
    pub(crate) runs: Vec<Run>,
    pub(crate) failures: Vec<String>,
}

impl<'a> Session<'a> {
    pub(crate) fn new(common: &'a Common, port: u16) -> Session<'a> {
        Session {
            common,
            port,
            runs: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Measures one run of `slot` against a fresh server with `go` (see [`measure`]), prints
    /// the line `report` makes of it, notes the smoke failure `report` finds (if any) and
    /// records the run.
    pub(crate) fn record<R: Serialize>(
        &mut self,
        a: &BenchArgs,
        slot: Slot,
        go: impl FnMut(&Server) -> Result<R>,
        others: impl Fn(&R) -> Option<f64>,
        report: impl Fn(&R) -> (String, Option<String>),
    ) -> Result<R> {
        let (r, quiet, attempts) = measure(a, slot.server, &mut self.port, go, others)?;
        let (line, failure) = report(&r);
        eprintln!("[round {}] {line}", slot.round);
        self.failures.extend(failure);
        self.runs.push(Run {
            round: slot.round,
            server: slot.server,
            scenario: slot.scenario,
            others_before_pct: quiet,
            attempts,
            target: slot.target,
            report: serde_json::to_value(&r)?,
        });
        Ok(r)
    }
}

/// Waits (up to `max`) until everything else on the machine uses less than `pct` % of one core,
/// over one-second samples. Returns the last sample.
fn wait_quiet(max: f64, pct: f64) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs_f64(max);
    let mut warned = false;
    loop {
        let a = MachineMark::now();
        std::thread::sleep(Duration::from_millis(if max > 0.0 { 1000 } else { 300 }));
        let busy = a.pct_until(&MachineMark::now());
        if max <= 0.0 || busy.is_none_or(|b| b < pct) || Instant::now() >= deadline {
            if warned {
                eprintln!();
            }
            return busy;
        }
        if !warned {
            eprint!(
                "waiting for the machine to go quiet (others at {:.0} % of a core)",
                busy.unwrap_or(0.0)
            );
            warned = true;
        } else {
            eprint!(".");
        }
    }
}

/// Starts a fresh server and runs `f` against it; repeats (up to `--retries` times) while other
/// processes took more than `--disturbed-pct` of a core during the run, and keeps the least
/// disturbed result. Returns it with the quiet sample taken before it and the number of attempts.
pub(crate) fn measure<R>(
    a: &BenchArgs,
    k: Kind,
    port: &mut u16,
    f: impl FnMut(&Server) -> Result<R>,
    others: impl Fn(&R) -> Option<f64>,
) -> Result<(R, Option<f64>, usize)> {
    measure_on(a, k.name(), port, |p| Server::start(k, a, *p), f, others)
}

/// [`measure`] for any system under test: `start` starts a fresh one from the port given
/// (moving it past every port it takes).
pub(crate) fn measure_on<S, R>(
    a: &BenchArgs,
    name: &str,
    port: &mut u16,
    mut start: impl FnMut(&mut u16) -> Result<S>,
    mut f: impl FnMut(&S) -> Result<R>,
    others: impl Fn(&R) -> Option<f64>,
) -> Result<(R, Option<f64>, usize)> {
    let mut best: Option<(R, Option<f64>)> = None;
    let mut attempts = 0;
    for _ in 0..=a.retries {
        attempts += 1;
        *port += 1;
        let quiet = wait_quiet(a.wait_quiet, a.quiet_pct);
        // A port something else holds (another benchmark, a client socket): try the next ones.
        let mut srv = start(port);
        for _ in 0..3 {
            let Err(e) = &srv else { break };
            eprintln!(
                "  ({name} did not start on port {port}: {}; trying the next port)",
                e.to_string().lines().next().unwrap_or_default()
            );
            *port += 1;
            srv = start(port);
        }
        let srv = srv?;
        let r = f(&srv)?;
        drop(srv);
        let o = others(&r).unwrap_or(0.0);
        if best
            .as_ref()
            .is_none_or(|(b, _)| o < others(b).unwrap_or(0.0))
        {
            best = Some((r, quiet));
        }
        if o <= a.disturbed_pct {
            break;
        }
        eprintln!("  ({name} run disturbed: other processes took {o:.0} % of a core)");
    }
    let (r, quiet) = best.context("no attempt made")?;
    Ok((r, quiet, attempts))
}

pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// `2026-11-25T22-36-07Z` for a file name (UTC, from the Unix time; no timezone database needed).
pub(crate) fn stamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}-{:02}-{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A bench's JSON: when it ran, on what machine, with which flags, and `results` (an object).
pub(crate) fn document(a: &BenchArgs, threads: usize, started: &str, results: Value) -> Value {
    let mut doc = json!({
        "started": started,
        "finished": stamp(),
        "smoke": a.smoke,
        "machine": machine(),
        "loadgen_threads": threads,
        "args": format!("{a:?}"),
    });
    if let (Some(doc), Value::Object(results)) = (doc.as_object_mut(), results) {
        doc.extend(results);
    }
    doc
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_model": cpu,
        "kernel": kernel,
        "mem_gib": (mem_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
    })
}

pub(crate) fn spec(common: &Common, k: Kind, addr: SocketAddr, default_rx: usize) -> Arc<ConnSpec> {
    Arc::new(ConnSpec::new(
        addr,
        k.dialect(),
        None,
        common.sources,
        common.rx_buf.unwrap_or(default_rx),
    ))
}
