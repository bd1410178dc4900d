//! `banter-loadgen bench`: Banter against two references, side by side: the Node `ws` broadcast
//! server and the naive axum pattern (`bench/naive-axum`: a `broadcast` channel of `String`s, one
//! task pair per socket).
//!
//! For each round, each scenario is run against Banter, then Node, then naive axum (A, B, C, A …),
//! each run on a freshly started server process on its own port, so no run inherits another's
//! state. Scenarios: `connect` (setup rate), `idle` (memory per connection), `store`,
//! `reactions` and `search` (Banter only: `bench_store.rs`, `bench_reactions.rs`,
//! `bench_search.rs`) and a `fanout` rate
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

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;

use crate::bench_args::BenchArgs;
use crate::bench_measure::{Session, Slot, document, spec, stamp};
use crate::bench_server::Kind;
use crate::report::{opt, thousands};
use crate::{Common, connect, fanout, idle, runtime};

/// Runs the whole comparison. `Ok(false)` when a smoke check failed.
pub fn run(common: &Common, mut a: BenchArgs) -> Result<bool> {
    if a.cluster {
        return crate::bench_cluster::run(common, a);
    }
    if a.smoke {
        shrink_for_smoke(&mut a);
    }
    let kinds = selected(&a)?;
    let nofile = crate::raise_nofile();
    eprintln!(
        "bench: {} round(s), servers {:?}, open-files limit {nofile}",
        a.rounds,
        kinds.iter().map(|k| k.name()).collect::<Vec<_>>()
    );
    let started = stamp();
    let mut s = Session::new(common, a.port);
    let scen = |name: &str| a.scenarios.iter().any(|x| x == name);
    for round in 1..=a.rounds {
        for &k in &kinds {
            if scen("connect") {
                connect_run(&mut s, &a, round, k)?;
            }
        }
        for &k in &kinds {
            if scen("idle") {
                idle_run(&mut s, &a, round, k)?;
            }
        }
        if scen("fanout") {
            fanout_sweep(&mut s, &a, round, &kinds)?;
        }
        if scen("store") && kinds.contains(&Kind::Banter) {
            crate::bench_store::round(&a, &mut s, round)?;
        }
        if scen("reactions") && kinds.contains(&Kind::Banter) {
            crate::bench_reactions::round(&a, &mut s, round)?;
        }
        if scen("search") && kinds.contains(&Kind::Banter) {
            crate::bench_search::round(&a, &mut s, round)?;
        }
    }

    let summary = crate::bench_summary::summarize(&a, &kinds, &s.runs);
    println!("{}", summary.0);
    let store_summary = crate::bench_store::summarize(&s.runs);
    if !store_summary.0.is_empty() {
        println!("{}", store_summary.0);
    }
    let reactions_summary = crate::bench_reactions::summarize(&s.runs);
    if !reactions_summary.0.is_empty() {
        println!("{}", reactions_summary.0);
    }
    let search_summary = crate::bench_search::summarize(&s.runs);
    if !search_summary.0.is_empty() {
        println!("{}", search_summary.0);
    }
    if let Some(svg) = crate::bench_chart::fanout_svg(&kinds, &s.runs) {
        let name = if a.smoke {
            "smoke-fanout.svg"
        } else {
            "fanout.svg"
        };
        std::fs::create_dir_all(&a.out)?;
        std::fs::write(a.out.join(name), svg)?;
        println!("chart saved to {}", a.out.join(name).display());
    }
    let results = json!({
        "summary": summary.1,
        "store_summary": store_summary.1,
        "reactions_summary": reactions_summary.1,
        "search_summary": search_summary.1,
        "runs": s.runs,
    });
    let doc = document(&a, common.threads, &started, results);
    crate::bench_summary::finish(
        &a,
        &started.to_string(),
        &doc,
        &s.failures,
        "every scenario worked against every server",
    )
}

/// `--smoke`: every scenario shrunk to seconds.
fn shrink_for_smoke(a: &mut BenchArgs) {
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
    a.search_messages = a.search_messages.min(5_000);
}

/// The servers `--servers` names, each checked to be there.
fn selected(a: &BenchArgs) -> Result<Vec<Kind>> {
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
    Ok(kinds)
}

/// The `connect` scenario against `k`: setup rate.
fn connect_run(s: &mut Session, a: &BenchArgs, round: usize, k: Kind) -> Result<()> {
    let threads = s.common.threads;
    let common = s.common;
    s.record(
        a,
        Slot::new(round, k, "connect", None),
        |srv| {
            let spec = spec(common, k, srv.addr, 1024);
            let cfg = connect::ConnectCfg {
                duration: Duration::from_secs_f64(a.connect_secs),
                concurrency: a.connect_concurrency,
            };
            Ok(runtime(threads)?.block_on(connect::run(spec, cfg, Some(srv.pid()))))
        },
        |r| r.others_cpu_pct,
        |r| {
            let line = format!(
                "connect  {:<6} {:>8} connects/s  setup p99 {:.2} ms  ({} failed)",
                k.name(),
                thousands(r.connects_per_sec),
                r.setup_latency_ms.p99,
                r.failed
            );
            let failed = (r.completed == 0)
                .then(|| format!("connect {}: nothing completed {:?}", k.name(), r.errors));
            (line, failed)
        },
    )?;
    Ok(())
}

/// The `idle` scenario against `k`: memory per connection (never repeated: memory does not
/// depend on CPU contention).
fn idle_run(s: &mut Session, a: &BenchArgs, round: usize, k: Kind) -> Result<()> {
    let threads = s.common.threads;
    let common = s.common;
    let pause = Duration::from_secs_f64(if a.smoke { 0.5 } else { 2.0 });
    s.record(
        a,
        Slot::new(round, k, "idle", None),
        |srv| {
            let spec = spec(common, k, srv.addr, 1024);
            let cfg = idle::IdleCfg {
                conns: a.idle_conns,
                join_rooms: 0,
                settle: pause,
                hold: pause,
                connect_concurrency: 100,
                setup_timeout: Duration::from_secs(60),
            };
            Ok(runtime(threads)?.block_on(idle::run(spec, cfg, Some(srv.pid()))))
        },
        |_| None,
        |r| {
            let line = format!(
                "idle     {:<6} {:>8} B/conn at {} conns  ({} failed, {} dropped)",
                k.name(),
                opt(r.server_bytes_per_conn, 0),
                r.connected,
                r.connect_failed,
                r.dropped
            );
            let failed = (r.connected as usize != a.idle_conns || r.dropped > 0).then(|| {
                format!(
                    "idle {}: {} of {} connected, {} dropped {:?}",
                    k.name(),
                    r.connected,
                    a.idle_conns,
                    r.dropped,
                    r.errors
                )
            });
            (line, failed)
        },
    )?;
    Ok(())
}

/// The `fanout` sweep: ascending targets, each against every server still in it; a server
/// leaves after `--stop-after` consecutive targets not sustained (disturbed runs not counted).
fn fanout_sweep(s: &mut Session, a: &BenchArgs, round: usize, kinds: &[Kind]) -> Result<()> {
    let mut fails = vec![0usize; kinds.len()];
    for &target in &a.deliveries {
        for (ki, &k) in kinds.iter().enumerate() {
            if fails[ki] >= a.stop_after {
                continue;
            }
            let r = fanout_run(s, a, round, k, target)?;
            // A failure while other processes took the machine says little about the server:
            // it does not count towards leaving the sweep.
            let disturbed = r.others_cpu_pct.unwrap_or(0.0) > a.disturbed_pct;
            fails[ki] = if r.sustained() {
                0
            } else if disturbed {
                fails[ki]
            } else {
                fails[ki] + 1
            };
        }
    }
    Ok(())
}

/// One fan-out run against `k` at `target` deliveries/s.
fn fanout_run(
    s: &mut Session,
    a: &BenchArgs,
    round: usize,
    k: Kind,
    target: u64,
) -> Result<fanout::FanoutReport> {
    let threads = s.common.threads;
    let common = s.common;
    s.record(
        a,
        Slot::new(round, k, "fanout", Some(target)),
        |srv| {
            let spec = spec(common, k, srv.addr, 16 * 1024);
            let cfg = a.fanout_cfg(target);
            Ok(runtime(threads)?.block_on(fanout::run(spec, cfg, Some(srv.pid()), None)))
        },
        |r| r.others_cpu_pct,
        |r| {
            let disturbed = r.others_cpu_pct.unwrap_or(0.0) > a.disturbed_pct;
            let verdict = match (r.sustained(), disturbed) {
                (true, _) => "ok",
                (false, true) => "NOT sustained (disturbed)",
                (false, false) => "NOT sustained",
            };
            let line = format!(
                "fanout   {:<6} target {:>9}/s: {:>9}/s delivered {:.3} %  p50 {:.1} p99 {:.1} max {:.1} ms  cpu {}% (loadgen {}%, others {}%)  {verdict}",
                k.name(),
                thousands(target as f64),
                thousands(r.deliveries_per_sec),
                r.delivered_pct,
                r.latency_ms.p50,
                r.latency_ms.p99,
                r.latency_ms.max,
                opt(r.server.and_then(|s| s.cpu_pct), 0),
                opt(r.loadgen_cpu_pct, 0),
                opt(r.others_cpu_pct, 0),
            );
            let failed = (r.connected as usize != a.clients || r.delivered_pct < 99.0).then(|| {
                format!(
                    "fanout {}: {} of {} connected, {:.2} % delivered {:?}",
                    k.name(),
                    r.connected,
                    a.clients,
                    r.delivered_pct,
                    r.errors
                )
            });
            (line, failed)
        },
    )
}
