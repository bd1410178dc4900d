//! `banter-loadgen bench --cluster` (`just bench --cluster`): Banter as a cluster (`--nodes`
//! nodes sharing rooms through one Redis, `--redis`) beside one node with its embedded store
//! (SQLite, the default), in the same run, alternating: one node, cluster, one node, …
//!
//! Each round runs the fan-out sweep (`--clients` in one room, spread round-robin over the
//! nodes, so senders are on every node; ascending `--deliveries` targets until `--stop-after`
//! misses; the round's result is the highest target sustained at ≥ 99.9 % delivered and
//! p99 < 50 ms), then the store scenario closed loop (50 senders, each alone in its room, spread
//! over the nodes: messages per second made durable and acked, through Redis for the cluster).
//! Every run gets fresh processes: a `redis-server` (AOF with `--redis-fsync`, in a temporary
//! directory) and the nodes. Over each run's sending phase the cluster's cost on Redis is
//! measured ([`RedisCost`]: commands and CPU per message), and each process's CPU.
//! Results: `cluster-<UTC date>.json` under `--out`; `--smoke` shrinks it to seconds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::{Value, json};

use crate::bench_args::BenchArgs;
use crate::bench_measure::{document, measure_on, median, stamp};
use crate::bench_server::{Kind, Server};
use crate::client::{ConnSpec, Dialect};
use crate::fanout::{self, FanoutReport, Probe};
use crate::procstat::{CpuMark, Proc};
use crate::redis_proc::{RedisCost, RedisProc, RedisSample};
use crate::report::{opt, thousands};
use crate::store::{self, StoreCfg, StoreReport};
use crate::{Common, runtime};

/// The store scenario's senders and their un-acked messages each (as in `bench_store`).
const STORE_SENDERS: usize = 50;
const STORE_INFLIGHT: usize = 32;

/// The two systems compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum System {
    /// One node, its embedded store.
    Single,
    /// `--nodes` nodes and Redis.
    Cluster,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Single => "1 node",
            System::Cluster => "cluster",
        }
    }
}

/// A running system under test.
enum Sut {
    Single(Server),
    Cluster {
        redis: Box<RedisProc>,
        nodes: Vec<Server>,
    },
}

impl Sut {
    fn start(a: &BenchArgs, sys: System, port: &mut u16) -> Result<Sut> {
        match sys {
            System::Single => Ok(Sut::Single(Server::start_as(
                Kind::Banter,
                a,
                *port,
                "banter",
            )?)),
            System::Cluster => {
                let redis = Box::new(RedisProc::start(&a.redis_server, *port, &a.redis_fsync)?);
                let mut with_redis = a.clone();
                with_redis
                    .banter_args
                    .push(format!("--redis={}", redis.url()));
                // The nodes share this machine: each gets its share of the cores, as it would
                // be deployed (more runnable threads than cores only adds latency).
                if !a
                    .banter_args
                    .iter()
                    .any(|x| x.starts_with("--worker-threads"))
                {
                    let cores = std::thread::available_parallelism().map_or(1, usize::from);
                    let share = (cores / a.nodes.max(1)).max(1);
                    with_redis
                        .banter_args
                        .push(format!("--worker-threads={share}"));
                }
                let mut nodes = Vec::new();
                for i in 1..=a.nodes.max(1) {
                    *port += 1;
                    let label = format!("node{i}");
                    nodes.push(Server::start_as(Kind::Banter, &with_redis, *port, &label)?);
                }
                Ok(Sut::Cluster { redis, nodes })
            }
        }
    }

    fn nodes(&self) -> &[Server] {
        match self {
            Sut::Single(s) => std::slice::from_ref(s),
            Sut::Cluster { nodes, .. } => nodes,
        }
    }

    /// Connections spread round-robin over the nodes.
    fn spec(&self, common: &Common, rx: usize) -> Arc<ConnSpec> {
        let nodes = self.nodes();
        let mut spec = ConnSpec::new(nodes[0].addr, Dialect::Banter, None, common.sources, rx);
        spec.more = nodes[1..]
            .iter()
            .map(|n| crate::ws::Target {
                addr: n.addr,
                path: spec.target.path.clone(),
            })
            .collect();
        Arc::new(spec)
    }

    /// Every process of the system: (label, pid).
    fn procs(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = self
            .nodes()
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("node{}", i + 1), n.pid()))
            .collect();
        if let Sut::Cluster { redis, .. } = self {
            v.push(("redis".into(), redis.pid()));
        }
        v
    }

    fn redis(&self) -> Option<&RedisProc> {
        match self {
            Sut::Single(_) => None,
            Sut::Cluster { redis, .. } => Some(redis.as_ref()),
        }
    }
}

/// Measures every process's CPU and Redis's counters over an interval.
struct Meter<'a> {
    procs: Vec<(String, u32)>,
    redis: Option<&'a RedisProc>,
    marks: Vec<CpuMark>,
    cpu_pct: Vec<(String, Option<f64>)>,
    before: Option<RedisSample>,
    after: Option<RedisSample>,
}

impl<'a> Meter<'a> {
    fn new(procs: Vec<(String, u32)>, redis: Option<&'a RedisProc>) -> Self {
        Meter {
            procs,
            redis,
            marks: Vec::new(),
            cpu_pct: Vec::new(),
            before: None,
            after: None,
        }
    }

    fn sample(&mut self) -> Option<RedisSample> {
        let r = self.redis?;
        match r.sample() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("  (cannot read INFO from Redis at {}: {e})", r.addr);
                None
            }
        }
    }

    fn cost(&self, messages: u64) -> Option<RedisCost> {
        let (a, b) = (self.before.as_ref()?, self.after.as_ref()?);
        Some(a.cost_until(b, messages))
    }
}

impl Probe for Meter<'_> {
    fn pids(&self) -> Vec<u32> {
        // The first node is the run's `pid`.
        self.procs.iter().skip(1).map(|(_, p)| *p).collect()
    }

    fn start(&mut self) {
        self.before = self.sample();
        self.marks = self
            .procs
            .iter()
            .map(|(_, p)| CpuMark::now(Proc::Pid(*p)))
            .collect();
    }

    fn stop(&mut self) {
        self.cpu_pct = self
            .procs
            .iter()
            .zip(&self.marks)
            .map(|((name, p), m)| (name.clone(), m.pct_until(&CpuMark::now(Proc::Pid(*p)))))
            .collect();
        self.after = self.sample();
    }
}

/// One run's record in the JSON.
#[derive(Serialize)]
struct Run {
    round: usize,
    system: System,
    scenario: &'static str,
    target: Option<u64>,
    others_before_pct: Option<f64>,
    attempts: usize,
    /// Each process's CPU over the sending phase, percent of one core.
    cpu_pct: Vec<(String, Option<f64>)>,
    redis: Option<RedisCost>,
    report: Value,
}

impl Run {
    fn f(&self, ptr: &str) -> Option<f64> {
        self.report.pointer(ptr).and_then(Value::as_f64)
    }

    fn nodes_cpu(&self) -> Option<f64> {
        let v: Vec<f64> = self
            .cpu_pct
            .iter()
            .filter(|(n, _)| n.starts_with("node"))
            .filter_map(|(_, c)| *c)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    }
}

/// Runs the cluster comparison. `Ok(false)` when a smoke check failed.
pub fn run(common: &Common, mut a: BenchArgs) -> Result<bool> {
    if a.smoke {
        a.rounds = 1;
        a.clients = a.clients.min(50);
        a.senders = a.senders.min(5);
        a.secs = a.secs.min(2.0);
        a.deliveries = vec![5_000];
        a.wait_quiet = 0.0;
        a.retries = 0;
    }
    if !a.banter.exists() {
        anyhow::bail!(
            "{} not found: build it with `cargo build --release -p banter-server`",
            a.banter.display()
        );
    }
    let nofile = crate::raise_nofile();
    eprintln!(
        "bench --cluster: {} round(s), 1 node vs {} nodes + Redis (appendfsync {}), open-files limit {nofile}",
        a.rounds, a.nodes, a.redis_fsync
    );
    let started = stamp();
    let mut port = a.port;
    let mut runs: Vec<Run> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let systems = [System::Single, System::Cluster];
    for round in 1..=a.rounds {
        let mut misses = [0usize; 2];
        for &target in &a.deliveries {
            for (si, &sys) in systems.iter().enumerate() {
                if misses[si] >= a.stop_after {
                    continue;
                }
                let run = fanout_run(common, &a, sys, round, target, &mut port)?;
                let (ok, disturbed) = sustained(&a, &run);
                misses[si] = if ok {
                    0
                } else if disturbed {
                    misses[si]
                } else {
                    misses[si] + 1
                };
                print_fanout(&run, ok, disturbed);
                if run.f("/connected").unwrap_or(0.0) as usize != a.clients
                    || run.f("/delivered_pct").unwrap_or(0.0) < 99.0
                {
                    failures.push(format!(
                        "fanout {}: {} connected, {:.2} % delivered",
                        sys.name(),
                        run.f("/connected").unwrap_or(0.0),
                        run.f("/delivered_pct").unwrap_or(0.0)
                    ));
                }
                runs.push(run);
            }
        }
        for sys in systems {
            let run = store_run(common, &a, sys, round, &mut port)?;
            print_store(&run);
            if run.f("/acked").unwrap_or(0.0) == 0.0 {
                failures.push(format!("store {}: nothing acked", sys.name()));
            }
            runs.push(run);
        }
    }
    let (text, summary) = summarize(&a, &runs);
    println!("{text}");
    let results = json!({"summary": summary, "runs": runs});
    let doc = document(&a, common.threads, &started, results);
    crate::bench_summary::finish(
        &a,
        &format!("cluster-{started}"),
        &doc,
        &failures,
        "the cluster and the single node both worked",
    )
}

/// The bar, and whether other processes disturbed the run.
fn sustained(a: &BenchArgs, r: &Run) -> (bool, bool) {
    let ok = r.f("/connected").unwrap_or(0.0) as usize == a.clients
        && r.f("/delivered_pct").unwrap_or(0.0) >= 99.9
        && r.f("/latency_ms/p99").unwrap_or(f64::MAX) < 50.0;
    (ok, r.f("/others_cpu_pct").unwrap_or(0.0) > a.disturbed_pct)
}

fn fanout_run(
    common: &Common,
    a: &BenchArgs,
    sys: System,
    round: usize,
    target: u64,
    port: &mut u16,
) -> Result<Run> {
    let (r, quiet, attempts) = measure_on(
        a,
        sys.name(),
        port,
        |p| Sut::start(a, sys, p),
        |sut| {
            let spec = sut.spec(common, 16 * 1024);
            let cfg = a.fanout_cfg(target);
            let procs = sut.procs();
            let first = procs[0].1;
            let mut meter = Meter::new(procs, sut.redis());
            let report: FanoutReport = runtime(common.threads)?.block_on(fanout::run(
                spec,
                cfg,
                Some(first),
                Some(&mut meter),
            ));
            let cost = meter.cost(report.sent);
            Ok((report, meter.cpu_pct, cost))
        },
        |(r, _, _)| r.others_cpu_pct,
    )?;
    let (report, cpu_pct, redis) = r;
    Ok(Run {
        round,
        system: sys,
        scenario: "fanout",
        target: Some(target),
        others_before_pct: quiet,
        attempts,
        cpu_pct,
        redis,
        report: serde_json::to_value(&report)?,
    })
}

fn store_run(
    common: &Common,
    a: &BenchArgs,
    sys: System,
    round: usize,
    port: &mut u16,
) -> Result<Run> {
    let (r, quiet, attempts) = measure_on(
        a,
        sys.name(),
        port,
        |p| Sut::start(a, sys, p),
        |sut| {
            let spec = sut.spec(common, 64 * 1024);
            let cfg = StoreCfg {
                senders: STORE_SENDERS,
                rate: 0.0,
                inflight: STORE_INFLIGHT,
                duration: Duration::from_secs_f64(a.secs),
                payload: a.payload,
            };
            let procs = sut.procs();
            let first = procs[0].1;
            let mut meter = Meter::new(procs, sut.redis());
            // The store scenario has no separate setup phase worth excluding (50 joins against
            // tens of thousands of posts): the meter spans the whole run.
            meter.start();
            let report: StoreReport =
                runtime(common.threads)?.block_on(store::run(spec, cfg, Some(first)));
            meter.stop();
            let cost = meter.cost(report.acked);
            Ok((report, meter.cpu_pct, cost))
        },
        |_| None,
    )?;
    let (report, cpu_pct, redis) = r;
    Ok(Run {
        round,
        system: sys,
        scenario: "store",
        target: None,
        others_before_pct: quiet,
        attempts,
        cpu_pct,
        redis,
        report: serde_json::to_value(&report)?,
    })
}

fn print_fanout(r: &Run, ok: bool, disturbed: bool) {
    eprintln!(
        "[round {}] fanout {:<8} target {:>9}/s: {:>9}/s delivered {:.3} %  p50 {:.1} p99 {:.1} ms  nodes cpu {}%  redis cpu {}% ({} cmds, {} µs per msg)  loadgen {}%  others {}%  {}",
        r.round,
        r.system.name(),
        thousands(r.target.unwrap_or(0) as f64),
        thousands(r.f("/deliveries_per_sec").unwrap_or(0.0)),
        r.f("/delivered_pct").unwrap_or(0.0),
        r.f("/latency_ms/p50").unwrap_or(0.0),
        r.f("/latency_ms/p99").unwrap_or(0.0),
        opt(r.nodes_cpu(), 0),
        opt(r.redis.as_ref().map(|c| c.cpu_pct), 0),
        opt(r.redis.as_ref().and_then(|c| c.commands_per_msg), 1),
        opt(r.redis.as_ref().and_then(|c| c.cpu_us_per_msg), 0),
        opt(r.f("/loadgen_cpu_pct"), 0),
        opt(r.f("/others_cpu_pct"), 0),
        if ok {
            "ok"
        } else if disturbed {
            "NOT sustained (disturbed)"
        } else {
            "NOT sustained"
        }
    );
}

fn print_store(r: &Run) {
    eprintln!(
        "[round {}] store  {:<8} {:>8} acked/s  ack p50 {:.2} p99 {:.2} ms  nodes cpu {}%  redis cpu {}% ({} cmds, {} µs per msg)",
        r.round,
        r.system.name(),
        thousands(r.f("/acked_per_sec").unwrap_or(0.0)),
        r.f("/ack_latency_ms/p50").unwrap_or(0.0),
        r.f("/ack_latency_ms/p99").unwrap_or(0.0),
        opt(r.nodes_cpu(), 0),
        opt(r.redis.as_ref().map(|c| c.cpu_pct), 0),
        opt(r.redis.as_ref().and_then(|c| c.commands_per_msg), 1),
        opt(r.redis.as_ref().and_then(|c| c.cpu_us_per_msg), 0),
    );
}

/// Medians over the rounds per system, and the printed table.
fn summarize(a: &BenchArgs, runs: &[Run]) -> (String, Value) {
    let systems = [System::Single, System::Cluster];
    let of = |sys: System, scenario: &'static str, target: Option<u64>| {
        runs.iter()
            .filter(move |r| r.system == sys && r.scenario == scenario && r.target == target)
    };
    let best = |sys: System| -> Vec<f64> {
        (1..=a.rounds)
            .map(|round| {
                runs.iter()
                    .filter(|r| r.round == round && r.system == sys && r.scenario == "fanout")
                    .filter(|r| sustained(a, r).0)
                    .filter_map(|r| r.target)
                    .max()
                    .unwrap_or(0) as f64
            })
            .collect()
    };
    type Metric = Box<dyn Fn(&Run) -> Option<f64>>;
    let metrics: Vec<(&str, Metric)> = vec![
        (
            "delivered/s",
            Box::new(|r: &Run| r.f("/deliveries_per_sec")),
        ),
        ("delivered %", Box::new(|r: &Run| r.f("/delivered_pct"))),
        ("p50 ms", Box::new(|r: &Run| r.f("/latency_ms/p50"))),
        ("p99 ms", Box::new(|r: &Run| r.f("/latency_ms/p99"))),
        ("nodes CPU %", Box::new(|r: &Run| r.nodes_cpu())),
        (
            "Redis CPU %",
            Box::new(|r: &Run| r.redis.as_ref().map(|c| c.cpu_pct)),
        ),
        (
            "Redis commands/msg",
            Box::new(|r: &Run| r.redis.as_ref().and_then(|c| c.commands_per_msg)),
        ),
        (
            "Redis CPU µs/msg",
            Box::new(|r: &Run| r.redis.as_ref().and_then(|c| c.cpu_us_per_msg)),
        ),
    ];
    let mut rows: Vec<(String, Vec<Option<f64>>)> = vec![(
        "max sustained deliveries/s".into(),
        systems.iter().map(|&s| median(best(s))).collect(),
    )];
    for &t in &a.deliveries {
        for (label, m) in &metrics {
            let vals: Vec<Option<f64>> = systems
                .iter()
                .map(|&s| median(of(s, "fanout", Some(t)).filter_map(m).collect()))
                .collect();
            if vals.iter().any(Option::is_some) {
                rows.push((format!("@{}/s {label}", thousands(t as f64)), vals));
            }
        }
    }
    let store_metrics: Vec<(&str, Metric)> = vec![
        (
            "store: messages/s acked",
            Box::new(|r: &Run| r.f("/acked_per_sec")),
        ),
        (
            "store: ack p99 ms",
            Box::new(|r: &Run| r.f("/ack_latency_ms/p99")),
        ),
        ("store: nodes CPU %", Box::new(|r: &Run| r.nodes_cpu())),
        (
            "store: Redis CPU %",
            Box::new(|r: &Run| r.redis.as_ref().map(|c| c.cpu_pct)),
        ),
        (
            "store: Redis commands/msg",
            Box::new(|r: &Run| r.redis.as_ref().and_then(|c| c.commands_per_msg)),
        ),
        (
            "store: Redis CPU µs/msg",
            Box::new(|r: &Run| r.redis.as_ref().and_then(|c| c.cpu_us_per_msg)),
        ),
    ];
    for (label, m) in &store_metrics {
        let vals: Vec<Option<f64>> = systems
            .iter()
            .map(|&s| median(of(s, "store", None).filter_map(m).collect()))
            .collect();
        rows.push(((*label).to_owned(), vals));
    }
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    let mut text = format!(
        "\nmedians over {} round(s)\n{:<w$} {:>14} {:>14}\n",
        a.rounds,
        "metric",
        System::Single.name(),
        format!("{} nodes+Redis", a.nodes)
    );
    let fmt = |v: Option<f64>| match v {
        None => "-".to_owned(),
        Some(x) if x.abs() >= 1000.0 => thousands(x),
        Some(x) => format!("{x:.2}"),
    };
    let mut json_rows = Vec::new();
    for (metric, vals) in &rows {
        text.push_str(&format!(
            "{metric:<w$} {:>14} {:>14}\n",
            fmt(vals[0]),
            fmt(vals[1])
        ));
        json_rows.push(json!({ "metric": metric, "single": vals[0], "cluster": vals[1] }));
    }
    (text, Value::Array(json_rows))
}
