//! `banter-loadgen bench --cluster` (`just bench --cluster`): Banter as a cluster (`--nodes`
//! nodes sharing rooms through `--shards` Redis, `--redis A,B,…`: each room on one shard) beside
//! one node with its embedded store (SQLite, the default), in the same run, alternating: one
//! node, cluster, one node, …
//!
//! Each round runs the fan-out sweep (`--clients` in one room, spread round-robin over the
//! nodes, so senders are on every node; ascending `--deliveries` targets until `--stop-after`
//! misses; the round's result is the highest target sustained at ≥ 99.9 % delivered and
//! p99 < 50 ms), then the store scenario closed loop (50 senders, each alone in its room, spread
//! over the nodes: messages per second made durable and acked, through Redis for the cluster);
//! `--scenarios fanout` or `--scenarios store` runs one of them. Every run gets fresh processes
//! (`bench_cluster_sut.rs`): one `redis-server` per shard (AOF with `--redis-fsync`, each in a
//! temporary directory) and the nodes. Over each run's sending phase the cluster's cost on
//! Redis is measured per shard and summed ([`crate::redis_proc::RedisCost`]: commands and CPU
//! per message), and each process's CPU. Results: `cluster-<UTC date>.json` under `--out`
//! (`bench_cluster_report.rs`); `--smoke` shrinks it to seconds.

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::bench_args::BenchArgs;
use crate::bench_cluster_report::{Run, print_fanout, print_store, summarize};
use crate::bench_cluster_sut::{Meter, Sut, System};
use crate::bench_measure::{document, measure_on, stamp};
use crate::fanout::{self, FanoutReport, Probe};
use crate::redis_proc::RedisCost;
use crate::store::{self, StoreCfg, StoreReport};
use crate::{Common, runtime};

/// The store scenario's senders and their un-acked messages each (as in `bench_store`).
const STORE_SENDERS: usize = 50;
const STORE_INFLIGHT: usize = 32;

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
    let (fanout, store) = (want(&a, "fanout"), want(&a, "store"));
    if !fanout && !store {
        anyhow::bail!("--cluster runs the scenarios fanout and store: name one with --scenarios");
    }
    let nofile = crate::raise_nofile();
    eprintln!(
        "bench --cluster: {} round(s), 1 node vs {} nodes + {} Redis (appendfsync {}), open-files limit {nofile}",
        a.rounds, a.nodes, a.shards, a.redis_fsync
    );
    let started = stamp();
    let mut port = a.port;
    let mut runs: Vec<Run> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for round in 1..=a.rounds {
        if fanout {
            sweep(common, &a, round, &mut port, &mut runs, &mut failures)?;
        }
        if store {
            // The closed loop (what the system can store), then the open loop at
            // `--store-rate` (its ack latency under a steady load below that).
            for (scenario, rate) in [("store", 0.0), ("store-latency", a.store_rate)] {
                for sys in SYSTEMS {
                    let run = store_run(common, &a, sys, round, &mut port, scenario, rate)?;
                    print_store(&run);
                    if run.f("/acked").unwrap_or(0.0) == 0.0 {
                        failures.push(format!("{scenario} {}: nothing acked", sys.name()));
                    }
                    runs.push(run);
                }
            }
        }
    }
    let (text, summary) = summarize(&a, &runs, |r| sustained(&a, r).0);
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

const SYSTEMS: [System; 2] = [System::Single, System::Cluster];

/// Whether `--scenarios` names `scenario`.
fn want(a: &BenchArgs, scenario: &str) -> bool {
    a.scenarios.iter().any(|s| s == scenario)
}

/// One round's fan-out sweep, both systems alternating, each until `--stop-after` misses.
fn sweep(
    common: &Common,
    a: &BenchArgs,
    round: usize,
    port: &mut u16,
    runs: &mut Vec<Run>,
    failures: &mut Vec<String>,
) -> Result<()> {
    let mut misses = [0usize; 2];
    for &target in &a.deliveries {
        for (si, &sys) in SYSTEMS.iter().enumerate() {
            if misses[si] >= a.stop_after {
                continue;
            }
            let run = fanout_run(common, a, sys, round, target, port)?;
            let (ok, disturbed) = sustained(a, &run);
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
    Ok(())
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
    let measured = measure_on(
        a,
        sys.name(),
        port,
        |p| Sut::start(a, sys, p),
        |sut| {
            let spec = sut.spec(common, 16 * 1024);
            let cfg = a.fanout_cfg(target);
            let mut meter = Meter::new(sut);
            let first = meter.first();
            let report: FanoutReport = runtime(common.threads)?.block_on(fanout::run(
                spec,
                cfg,
                Some(first),
                Some(&mut meter),
            ));
            let shards = meter.shard_costs(report.sent);
            Ok((report, meter.cpu_pct, shards))
        },
        |(r, _, _)| r.others_cpu_pct,
    )?;
    record(round, sys, "fanout", Some(target), measured)
}

fn store_run(
    common: &Common,
    a: &BenchArgs,
    sys: System,
    round: usize,
    port: &mut u16,
    scenario: &'static str,
    rate: f64,
) -> Result<Run> {
    let measured = measure_on(
        a,
        sys.name(),
        port,
        |p| Sut::start(a, sys, p),
        |sut| {
            let spec = sut.spec(common, 64 * 1024);
            let cfg = StoreCfg {
                senders: STORE_SENDERS,
                rate,
                inflight: STORE_INFLIGHT,
                duration: Duration::from_secs_f64(a.secs),
                payload: a.payload,
                words: false,
                limit: 0,
            };
            let mut meter = Meter::new(sut);
            let first = meter.first();
            // The store scenario has no separate setup phase worth excluding (50 joins against
            // tens of thousands of posts): the meter spans the whole run.
            meter.start();
            let report: StoreReport =
                runtime(common.threads)?.block_on(store::run(spec, cfg, Some(first)));
            meter.stop();
            let shards = meter.shard_costs(report.acked);
            Ok((report, meter.cpu_pct, shards))
        },
        |_| None,
    )?;
    record(round, sys, scenario, None, measured)
}

/// What one run measured: its report, each process's CPU, each Redis shard's cost.
type Measured<R> = (R, Vec<(String, Option<f64>)>, Option<Vec<RedisCost>>);

/// The record of a run from what [`measure_on`] gave: the measures, the rest of the machine's
/// CPU before it, the attempts.
fn record<R: serde::Serialize>(
    round: usize,
    system: System,
    scenario: &'static str,
    target: Option<u64>,
    (measured, quiet, attempts): (Measured<R>, Option<f64>, usize),
) -> Result<Run> {
    let (report, cpu_pct, shards) = measured;
    let redis_shards = shards.unwrap_or_default();
    Ok(Run {
        round,
        system,
        scenario,
        target,
        others_before_pct: quiet,
        attempts,
        cpu_pct,
        redis: RedisCost::total(&redis_shards),
        redis_shards,
        report: serde_json::to_value(&report)?,
    })
}
