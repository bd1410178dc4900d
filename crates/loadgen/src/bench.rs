//! `banter-loadgen bench`: Banter against two references, side by side: the Node `ws` broadcast
//! server and the naive axum pattern (`bench/naive-axum`: a `broadcast` channel of `String`s, one
//! task pair per socket).
//!
//! For each round, each scenario is run against Banter, then Node, then naive axum (A, B, C, A …),
//! each run on a freshly started server process on its own port, so no run inherits another's
//! state. Scenarios: `connect` (setup rate), `idle` (memory per connection) and a `fanout` rate
//! sweep (ascending target deliveries/s; a server leaves the sweep for the round after
//! `--stop-after` consecutive rates it did not sustain, not counting runs disturbed by other
//! processes). The round's result is the highest rate sustained (≥ 99.9 % delivered, p99 < 50 ms).
//! Medians over the rounds and the Banter/reference ratios are printed and everything is saved as
//! JSON under `--out`.
//!
//! Banter speaks its own protocol on `/ws` (join, send, `seq`, history: the full path); the
//! references speak the classic `{user, message}` shape, the only one they know.
//! `--smoke` shrinks everything to seconds and checks that every scenario worked at all.
//! `--cluster` runs instead Banter as several nodes sharing rooms through Redis beside one node
//! (see `bench_cluster.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::ConnSpec;
use crate::procstat::MachineMark;
use crate::report::thousands;
use crate::{Common, connect, fanout, idle, runtime};

pub(crate) use crate::bench_server::{Kind, Server};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The Banter server binary.
    #[arg(long, default_value = "target/release/banter")]
    pub(crate) banter: PathBuf,
    /// An extra argument for Banter, after `--listen 127.0.0.1:PORT` (repeatable), e.g.
    /// `--banter-arg=--rate-per-sec=0`.
    #[arg(long = "banter-arg", allow_hyphen_values = true)]
    pub(crate) banter_args: Vec<String>,
    /// Directory of the Node reference (`server.js`, after `npm ci`).
    #[arg(long, default_value = "bench/node-ws")]
    pub(crate) node_dir: PathBuf,
    /// The node executable.
    #[arg(long, default_value = "node")]
    pub(crate) node: String,
    /// The naive axum reference binary (`cargo build --release -p naive-axum`).
    #[arg(long, default_value = "target/release/naive-axum")]
    pub(crate) naive: PathBuf,
    /// Only these servers (`banter`, `node`, `naive`).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("banter"), String::from("node"), String::from("naive")])]
    pub(crate) servers: Vec<String>,
    /// Only these scenarios (`connect`, `idle`, `fanout`, `store`: Banter's durable store
    /// beside a commit-per-message one).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("connect"), String::from("idle"), String::from("fanout"), String::from("store")])]
    pub(crate) scenarios: Vec<String>,
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: usize,
    /// Seconds-long run of every scenario that fails only if the tool or a server breaks.
    #[arg(long)]
    pub(crate) smoke: bool,
    /// Where to save the JSON results.
    #[arg(long, default_value = "bench/results")]
    pub(crate) out: PathBuf,
    /// First port to start servers on (each run takes the next one). Below Linux's ephemeral
    /// range (32768–60999): there the load generator's own closed client sockets (TIME_WAIT)
    /// can hold a port a later server needs.
    #[arg(long, default_value_t = 24_100)]
    pub(crate) port: u16,
    #[arg(long, default_value_t = 1000)]
    pub(crate) clients: usize,
    #[arg(long, default_value_t = 10)]
    pub(crate) senders: usize,
    #[arg(long, default_value_t = 100)]
    pub(crate) payload: usize,
    /// Seconds of sending per fan-out (and store) run.
    #[arg(long, default_value_t = 8.0)]
    pub(crate) secs: f64,
    /// Store scenario: the open-loop rate at which the ack latency is measured.
    #[arg(long, default_value_t = 10_000.0)]
    pub(crate) store_rate: f64,
    /// Target deliveries/s of the sweep, ascending.
    #[arg(long, value_delimiter = ',', default_values_t = [50_000u64, 75_000, 100_000, 150_000, 250_000, 400_000, 600_000, 800_000, 1_000_000, 1_250_000, 1_500_000, 2_000_000, 2_500_000])]
    pub(crate) deliveries: Vec<u64>,
    /// Leave the sweep after this many consecutive rates not sustained.
    #[arg(long, default_value_t = 2)]
    pub(crate) stop_after: usize,
    #[arg(long, default_value_t = 10_000)]
    pub(crate) idle_conns: usize,
    #[arg(long, default_value_t = 5.0)]
    pub(crate) connect_secs: f64,
    #[arg(long, default_value_t = 50)]
    pub(crate) connect_concurrency: usize,
    /// Before each run, wait up to this many seconds for the rest of the machine to go quiet
    /// (other processes below --quiet-pct of one core, sampled over 1 s). 0 = don't wait.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) wait_quiet: f64,
    /// What counts as quiet, in percent of one core used by everything else.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) quiet_pct: f64,
    /// A connect or fan-out run during which other processes took more than this (percent of one
    /// core) is disturbed and is repeated, up to --retries times; the least disturbed one counts.
    #[arg(long, default_value_t = 50.0)]
    pub(crate) disturbed_pct: f64,
    #[arg(long, default_value_t = 1)]
    pub(crate) retries: usize,
    /// Instead of the comparison with the references: Banter as several nodes sharing rooms
    /// through Redis (`--redis`) beside one node with its embedded store, through the fan-out
    /// sweep and the store scenario (see `bench_cluster.rs`).
    #[arg(long)]
    pub(crate) cluster: bool,
    /// Cluster: how many nodes.
    #[arg(long, default_value_t = 2)]
    pub(crate) nodes: usize,
    /// Cluster: the redis-server executable.
    #[arg(long, default_value = "redis-server")]
    pub(crate) redis_server: String,
    /// Cluster: Redis's `appendfsync` (AOF on): `always` (what docs/deploy.md recommends, like
    /// the single node's `--sqlite-sync full`), `everysec` or `no`; `off` = no persistence.
    #[arg(long, default_value = "always")]
    pub(crate) redis_fsync: String,
}

/// One run's record in the JSON.
#[derive(Serialize)]
pub(crate) struct Run {
    pub(crate) round: usize,
    pub(crate) server: Kind,
    pub(crate) scenario: &'static str,
    /// CPU the rest of the machine used just before the run, % of one core.
    pub(crate) others_before_pct: Option<f64>,
    /// Runs made to get this one (more than 1 when others disturbed the earlier ones).
    pub(crate) attempts: usize,
    /// Target deliveries/s (fan-out only).
    pub(crate) target: Option<u64>,
    pub(crate) report: Value,
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

pub(crate) fn machine() -> Value {
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

/// Runs the whole comparison. `Ok(false)` when a smoke check failed.
pub fn run(common: &Common, mut a: BenchArgs) -> Result<bool> {
    if a.cluster {
        return crate::bench_cluster::run(common, a);
    }
    if a.smoke {
        a.rounds = 1;
        a.clients = a.clients.min(50);
        a.senders = a.senders.min(5);
        a.secs = a.secs.min(2.0);
        a.deliveries = vec![5_000];
        a.idle_conns = a.idle_conns.min(200);
        a.connect_secs = a.connect_secs.min(1.0);
        a.connect_concurrency = a.connect_concurrency.min(8);
        a.wait_quiet = 0.0;
        a.retries = 0;
    }
    let kinds: Vec<Kind> = [Kind::Banter, Kind::Node, Kind::Naive]
        .into_iter()
        .filter(|k| a.servers.iter().any(|s| s == k.name()))
        .collect();
    if kinds.is_empty() {
        bail!("no server selected (--servers banter,node,naive)");
    }
    if let Some(s) = a
        .servers
        .iter()
        .find(|s| !["banter", "node", "naive"].contains(&s.as_str()))
    {
        bail!("unknown server {s:?} (--servers banter,node,naive)");
    }
    if kinds.contains(&Kind::Banter) && !a.banter.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p banter-server`",
            a.banter.display()
        );
    }
    if kinds.contains(&Kind::Node) && !a.node_dir.join("node_modules/ws").exists() {
        bail!(
            "{}/node_modules/ws missing: run `npm ci` there",
            a.node_dir.display()
        );
    }
    if kinds.contains(&Kind::Naive) && !a.naive.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p naive-axum`",
            a.naive.display()
        );
    }
    let scen = |s: &str| a.scenarios.iter().any(|x| x == s);
    let nofile = crate::raise_nofile();
    eprintln!(
        "bench: {} round(s), servers {:?}, open-files limit {nofile}",
        a.rounds,
        kinds.iter().map(|k| k.name()).collect::<Vec<_>>()
    );
    let started = stamp();
    let mut port = a.port;
    let mut runs: Vec<Run> = Vec::new();
    let mut smoke_failures: Vec<String> = Vec::new();
    let threads = common.threads;

    for round in 1..=a.rounds {
        if scen("connect") {
            for &k in &kinds {
                let (r, quiet, attempts) = measure(
                    &a,
                    k,
                    &mut port,
                    |srv| {
                        let spec = spec(common, k, srv.addr, 1024);
                        let cfg = connect::ConnectCfg {
                            duration: Duration::from_secs_f64(a.connect_secs),
                            concurrency: a.connect_concurrency,
                        };
                        Ok(runtime(threads)?.block_on(connect::run(spec, cfg, Some(srv.pid()))))
                    },
                    |r| r.others_cpu_pct,
                )?;
                eprintln!(
                    "[round {round}] connect  {:<6} {:>8} connects/s  setup p99 {:.2} ms  ({} failed)",
                    k.name(),
                    thousands(r.connects_per_sec),
                    r.setup_latency_ms.p99,
                    r.failed
                );
                if r.completed == 0 {
                    smoke_failures.push(format!(
                        "connect {}: nothing completed {:?}",
                        k.name(),
                        r.errors
                    ));
                }
                runs.push(Run {
                    round,
                    others_before_pct: quiet,
                    attempts,
                    server: k,
                    scenario: "connect",
                    target: None,
                    report: serde_json::to_value(&r)?,
                });
            }
        }
        if scen("idle") {
            for &k in &kinds {
                let (r, quiet, attempts) = measure(
                    &a,
                    k,
                    &mut port,
                    |srv| {
                        let spec = spec(common, k, srv.addr, 1024);
                        let cfg = idle::IdleCfg {
                            conns: a.idle_conns,
                            join_rooms: 0,
                            settle: Duration::from_secs_f64(if a.smoke { 0.5 } else { 2.0 }),
                            hold: Duration::from_secs_f64(if a.smoke { 0.5 } else { 2.0 }),
                            connect_concurrency: 100,
                            setup_timeout: Duration::from_secs(60),
                        };
                        Ok(runtime(threads)?.block_on(idle::run(spec, cfg, Some(srv.pid()))))
                    },
                    // Memory does not depend on CPU contention: never repeated.
                    |_| None,
                )?;
                eprintln!(
                    "[round {round}] idle     {:<6} {:>8} B/conn at {} conns  ({} failed, {} dropped)",
                    k.name(),
                    crate::report::opt(r.server_bytes_per_conn, 0),
                    r.connected,
                    r.connect_failed,
                    r.dropped
                );
                if r.connected as usize != a.idle_conns || r.dropped > 0 {
                    smoke_failures.push(format!(
                        "idle {}: {} of {} connected, {} dropped {:?}",
                        k.name(),
                        r.connected,
                        a.idle_conns,
                        r.dropped,
                        r.errors
                    ));
                }
                runs.push(Run {
                    round,
                    others_before_pct: quiet,
                    attempts,
                    server: k,
                    scenario: "idle",
                    target: None,
                    report: serde_json::to_value(&r)?,
                });
            }
        }
        if scen("fanout") {
            let mut fails = vec![0usize; kinds.len()];
            for &target in &a.deliveries {
                for (ki, &k) in kinds.iter().enumerate() {
                    if fails[ki] >= a.stop_after {
                        continue;
                    }
                    let (r, quiet, attempts) = measure(
                        &a,
                        k,
                        &mut port,
                        |srv| {
                            let spec = spec(common, k, srv.addr, 16 * 1024);
                            let cfg = fanout::FanoutCfg {
                                clients: a.clients,
                                rooms: 1,
                                senders: a.senders,
                                rate: target as f64 / a.clients as f64,
                                duration: Duration::from_secs_f64(a.secs),
                                payload: a.payload,
                                settle: Duration::from_secs_f64(if a.smoke { 0.3 } else { 1.0 }),
                                drain: Duration::from_secs(5),
                                connect_concurrency: 100,
                                setup_timeout: Duration::from_secs(30),
                            };
                            Ok(runtime(threads)?.block_on(fanout::run(
                                spec,
                                cfg,
                                Some(srv.pid()),
                                None,
                            )))
                        },
                        |r| r.others_cpu_pct,
                    )?;
                    let ok = r.sustained();
                    // A failure while other processes took the machine says little about the
                    // server: it does not count towards leaving the sweep.
                    let disturbed = r.others_cpu_pct.unwrap_or(0.0) > a.disturbed_pct;
                    fails[ki] = if ok {
                        0
                    } else if disturbed {
                        fails[ki]
                    } else {
                        fails[ki] + 1
                    };
                    eprintln!(
                        "[round {round}] fanout   {:<6} target {:>9}/s: {:>9}/s delivered {:.3} %  p50 {:.1} p99 {:.1} max {:.1} ms  cpu {}% (loadgen {}%, others {}%)  {}",
                        k.name(),
                        thousands(target as f64),
                        thousands(r.deliveries_per_sec),
                        r.delivered_pct,
                        r.latency_ms.p50,
                        r.latency_ms.p99,
                        r.latency_ms.max,
                        crate::report::opt(r.server.and_then(|s| s.cpu_pct), 0),
                        crate::report::opt(r.loadgen_cpu_pct, 0),
                        crate::report::opt(r.others_cpu_pct, 0),
                        if ok {
                            "ok"
                        } else if disturbed {
                            "NOT sustained (disturbed)"
                        } else {
                            "NOT sustained"
                        }
                    );
                    if r.connected as usize != a.clients || r.delivered_pct < 99.0 {
                        smoke_failures.push(format!(
                            "fanout {}: {} of {} connected, {:.2} % delivered {:?}",
                            k.name(),
                            r.connected,
                            a.clients,
                            r.delivered_pct,
                            r.errors
                        ));
                    }
                    runs.push(Run {
                        round,
                        others_before_pct: quiet,
                        attempts,
                        server: k,
                        scenario: "fanout",
                        target: Some(target),
                        report: serde_json::to_value(&r)?,
                    });
                }
            }
        }
        if scen("store") && kinds.contains(&Kind::Banter) {
            crate::bench_store::round(
                &a,
                common,
                round,
                &mut port,
                &mut runs,
                &mut smoke_failures,
            )?;
        }
    }

    let summary = crate::bench_summary::summarize(&a, &kinds, &runs);
    println!("{}", summary.0);
    let store_summary = crate::bench_store::summarize(&runs);
    if !store_summary.0.is_empty() {
        println!("{}", store_summary.0);
    }
    let doc = json!({
        "started": started,
        "finished": stamp(),
        "smoke": a.smoke,
        "machine": machine(),
        "loadgen_threads": threads,
        "args": format!("{a:?}"),
        "summary": summary.1,
        "store_summary": store_summary.1,
        "runs": runs,
    });
    crate::bench_summary::finish(
        &a,
        &started.to_string(),
        &doc,
        &smoke_failures,
        "every scenario worked against every server",
    )
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
