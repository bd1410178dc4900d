//! The benchmark's `store` scenario: Banter's durable default beside the store people write
//! first (a commit per message: `--store-batch 1`), in the same round.
//!
//! Each round runs three measurements, each on a fresh server and data directory:
//! `store` (durable default, closed loop: how many messages per second are made durable and
//! acked), `store-naive` (the same against `--store-batch 1`), and `store-latency` (durable
//! default, open loop at `--store-rate` messages per second: the send-to-ack latency a user
//! waits for).

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use crate::bench_args::{BenchArgs, Run};
use crate::bench_measure::{Session, Slot, spec};
use crate::bench_server::Kind;
use crate::report::thousands;
use crate::runtime;
use crate::store::{self, StoreCfg, StoreReport};

const SENDERS: usize = 50;
const INFLIGHT: usize = 32;

/// One round of the three store measurements.
pub fn round(a: &BenchArgs, s: &mut Session, round: usize) -> Result<()> {
    let mut naive = a.clone();
    naive.banter_args.push("--store-batch=1".into());
    let plans: [(&'static str, &BenchArgs, f64); 3] = [
        ("store", a, 0.0),
        ("store-naive", &naive, 0.0),
        ("store-latency", a, a.store_rate),
    ];
    let common = s.common;
    for (scenario, args, rate) in plans {
        s.record(
            args,
            Slot::new(round, Kind::Banter, scenario, None),
            |srv| {
                let spec = spec(common, Kind::Banter, srv.addr, 64 * 1024);
                let cfg = StoreCfg {
                    senders: SENDERS,
                    rate,
                    inflight: INFLIGHT,
                    duration: Duration::from_secs_f64(a.secs),
                    payload: 100,
                    words: false,
                    limit: 0,
                };
                Ok(runtime(common.threads)?.block_on(store::run(spec, cfg, Some(srv.pid()))))
            },
            |_: &StoreReport| None,
            |r| {
                let line = format!(
                    "{scenario:<14} {:>8} acked/s  ack p50 {:.2} ms  p99 {:.2} ms  ({} refused, server CPU {} %)",
                    thousands(r.acked_per_sec),
                    r.ack_latency_ms.p50,
                    r.ack_latency_ms.p99,
                    r.refused,
                    crate::report::opt(r.server_cpu_pct, 0),
                );
                (line, (r.acked == 0).then(|| format!("{scenario}: nothing acked")))
            },
        )?;
    }
    Ok(())
}

pub fn summarize(runs: &[Run]) -> (String, Value) {
    let med = |scenario: &str, ptr: &str| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter(|r| r.scenario == scenario)
            .filter_map(|r| r.report.pointer(ptr).and_then(Value::as_f64))
            .collect();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| v[v.len() / 2])
    };
    let (Some(durable), Some(naive)) = (
        med("store", "/acked_per_sec"),
        med("store-naive", "/acked_per_sec"),
    ) else {
        return (String::new(), Value::Null);
    };
    let p99 = med("store-latency", "/ack_latency_ms/p99");
    let p99_naive = med("store-naive", "/ack_latency_ms/p99");
    let text = format!(
        "store (Banter, {SENDERS} senders, one room each, acked after commit)\n\
         durable default, messages/s    {:>12}\n\
         commit per message, messages/s {:>12}\n\
         durable / commit-per-message   {:>11.1}x\n\
         ack p99 at {} msg/s           {:>9} ms\n\
         ack p99 commit-per-message      {:>9} ms (closed loop)\n",
        thousands(durable),
        thousands(naive),
        durable / naive.max(1.0),
        thousands(rate_of(runs)),
        p99.map_or("-".into(), |p| format!("{p:.2}")),
        p99_naive.map_or("-".into(), |p| format!("{p:.2}")),
    );
    let json = json!({
        "durable_per_sec": durable,
        "naive_per_sec": naive,
        "ratio": durable / naive.max(1.0),
        "ack_p99_ms_at_rate": p99,
    });
    (text, json)
}

fn rate_of(runs: &[Run]) -> f64 {
    runs.iter()
        .find(|r| r.scenario == "store-latency")
        .and_then(|r| r.report.pointer("/config/rate").and_then(Value::as_f64))
        .unwrap_or(0.0)
}
