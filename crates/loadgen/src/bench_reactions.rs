//! The benchmark's `reactions` scenario (v1.2, Banter only): a reaction storm, `--clients`
//! members of one room each reacting to the same message within `--reaction-spread` seconds
//! (see `reactions.rs`). It holds when nobody is kicked, every member sees every reaction, and
//! the server's memory grows less than the room's budget (`--room-budget-bytes`, the server's
//! `--hot-window-bytes`).

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use crate::bench_args::{BenchArgs, Run};
use crate::bench_measure::{Session, Slot, spec};
use crate::bench_server::Kind;
use crate::reactions::{self, ReactionsCfg, ReactionsReport};
use crate::report::{opt, thousands};
use crate::runtime;

/// One reaction storm on a fresh server.
pub fn round(a: &BenchArgs, s: &mut Session, round: usize) -> Result<()> {
    let common = s.common;
    s.record(
        a,
        Slot::new(round, Kind::Banter, "reactions", None),
        |srv| {
            let spec = spec(common, Kind::Banter, srv.addr, 64 * 1024);
            let cfg = ReactionsCfg {
                members: a.clients,
                spread: Duration::from_secs_f64(a.reaction_spread),
                drain: Duration::from_secs(10),
                budget_bytes: a.room_budget_bytes,
                connect_concurrency: 100,
            };
            Ok(runtime(common.threads)?.block_on(reactions::run(spec, cfg, Some(srv.pid()))))
        },
        |_: &ReactionsReport| None,
        |r| {
            let line = format!(
                "reactions {} members: {:>7} stored/s  stored p99 {:.1} ms  delivered {:.3} % p99 {:.1} ms  kicked {}  RSS +{} MB (budget {} MB)  {}",
                r.connected,
                thousands(r.stored_per_sec),
                r.stored_latency_ms.p99,
                r.delivered_pct,
                r.delivered_latency_ms.p99,
                r.kicked,
                opt(r.rss_growth_mb, 1),
                a.room_budget_bytes >> 20,
                if r.held() { "ok" } else { "NOT held" },
            );
            let failed = (!r.held()).then(|| {
                format!(
                    "reactions: {} kicked, {} dropped, {:.2} % delivered, within budget {:?} {:?}",
                    r.kicked, r.dropped, r.delivered_pct, r.within_budget, r.errors
                )
            });
            (line, failed)
        },
    )?;
    Ok(())
}

/// The medians over the rounds, as text and JSON (empty when the scenario did not run).
pub fn summarize(runs: &[Run]) -> (String, Value) {
    let med = |ptr: &str| {
        let mut v: Vec<f64> = runs
            .iter()
            .filter(|r| r.scenario == "reactions")
            .filter_map(|r| r.report.pointer(ptr).and_then(Value::as_f64))
            .collect();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| v[v.len() / 2])
    };
    let Some(stored) = med("/stored_per_sec") else {
        return (String::new(), Value::Null);
    };
    let (p99, growth) = (med("/delivered_latency_ms/p99"), med("/rss_growth_mb"));
    let kicked = med("/kicked").unwrap_or(0.0);
    let text = format!(
        "reactions (Banter, a storm: every member reacts to one message within the spread)\n\
         reactions stored/s             {:>12}\n\
         delivered p99                  {:>9} ms\n\
         kicked (4000)                  {:>12}\n\
         server RSS growth              {:>9} MB\n",
        thousands(stored),
        p99.map_or("-".into(), |p| format!("{p:.1}")),
        kicked,
        growth.map_or("-".into(), |g| format!("{g:.1}")),
    );
    let json = json!({
        "stored_per_sec": stored,
        "delivered_p99_ms": p99,
        "kicked": kicked,
        "rss_growth_mb": growth,
    });
    (text, json)
}
