//! The benchmark's `search` scenario (issue 17): search over `--search-messages` (1,000,000)
//! messages while posting goes on, and what the index costs posting.
//!
//! Each round runs, each on a fresh server and data directory:
//! - `search`: 50 senders (one room each, closed loop) post the messages, with texts of a
//!   Zipf-distributed vocabulary and some CJK ([`crate::vocab`]); the run waits for the index to
//!   hold them all (indexed per second), then asks one-word, two-word, substring and CJK queries
//!   one after another for `--secs` (at least 10 s) while the senders post at `--search-rate`
//!   (10,000 messages/s): each kind's p50 and p99.
//! - `search-store-on` and `search-store-off` (order alternating by round): the store
//!   scenario's closed loop with the same texts, with the index (`--search=true`) and without:
//!   stored messages per second side by side.

use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};

use crate::bench_args::{BenchArgs, Run};
use crate::bench_measure::{Session, Slot, median, spec};
use crate::bench_server::{Kind, Server};
use crate::report::thousands;
use crate::runtime;
use crate::search::{self, KindReport};
use crate::store::{self, StoreCfg, StoreReport};

const SENDERS: usize = 50;
const INFLIGHT: usize = 32;

/// What the `search` run measured.
#[derive(Debug, Serialize)]
pub struct SearchReport {
    /// Posting the messages (closed loop).
    pub fill: StoreReport,
    /// From the last ack of the fill until the index held every message.
    pub index_lag_secs: Option<f64>,
    /// Messages indexed per second, from the fill's start to the index holding them all.
    pub indexed_per_sec: Option<f64>,
    /// Query latency by kind, while posting went on.
    pub queries: std::collections::BTreeMap<&'static str, KindReport>,
    /// The posting meanwhile (open loop at `--search-rate`).
    pub posting: StoreReport,
}

fn cfg(rate: f64, secs: f64, limit: u64) -> StoreCfg {
    StoreCfg {
        senders: SENDERS,
        rate,
        inflight: INFLIGHT,
        duration: Duration::from_secs_f64(secs),
        payload: 100,
        words: true,
        limit,
    }
}

/// One round: the search run, then the store with the index on and off.
pub fn round(a: &BenchArgs, s: &mut Session, round: usize) -> Result<()> {
    let common = s.common;
    s.record(
        a,
        Slot::new(round, Kind::Banter, "search", None),
        |srv| index_and_ask(a, common, srv),
        |_| None,
        |r| {
            let q = |k: &str| {
                r.queries.get(k).map_or("-".into(), |k| {
                    format!(
                        "{:.1}/{:.1} (slowest {:?} {:.0})",
                        k.latency_ms.p50, k.latency_ms.p99, k.slowest.0, k.slowest.1
                    )
                })
            };
            let line = format!(
                "search         {} msgs indexed at {}/s; p50/p99 ms: word {} two {} substring {} cjk {}; posting {}/s",
                thousands(r.fill.acked as f64),
                crate::report::opt(r.indexed_per_sec, 0),
                q("one-word"),
                q("two-words"),
                q("substring"),
                q("cjk"),
                thousands(r.posting.acked_per_sec),
            );
            // (A rare word may be in none of the smoke run's few messages: only all empty fails.)
            let broken = r
                .queries
                .get("one-word")
                .is_none_or(|k| k.empty >= k.latency_ms.count || k.failed > 0)
                || r.index_lag_secs.is_none();
            (line, broken.then(|| "search: no word query found anything, one failed, or the index fell behind".into()))
        },
    )?;
    let order = if round % 2 == 1 {
        [true, false]
    } else {
        [false, true]
    };
    for on in order {
        let mut args = a.clone();
        args.banter_args.push(format!("--search={on}"));
        let scenario = if on {
            "search-store-on"
        } else {
            "search-store-off"
        };
        s.record(
            &args,
            Slot::new(round, Kind::Banter, scenario, None),
            |srv| {
                let spec = spec(common, Kind::Banter, srv.addr, 64 * 1024);
                Ok(runtime(common.threads)?.block_on(store::run(
                    spec,
                    cfg(0.0, a.secs, 0),
                    Some(srv.pid()),
                )))
            },
            |_: &StoreReport| None,
            |r| {
                let line = format!(
                    "{scenario:<16} {:>8} stored/s  ack p99 {:.2} ms  (server CPU {} %)",
                    thousands(r.acked_per_sec),
                    r.ack_latency_ms.p99,
                    crate::report::opt(r.server_cpu_pct, 0),
                );
                (
                    line,
                    (r.acked == 0).then(|| format!("{scenario}: nothing acked")),
                )
            },
        )?;
    }
    Ok(())
}

fn index_and_ask(a: &BenchArgs, common: &crate::Common, srv: &Server) -> Result<SearchReport> {
    let dir = srv.data_dir().context("the server has no data directory")?;
    let rt = runtime(common.threads)?;
    let spec = spec(common, Kind::Banter, srv.addr, 64 * 1024);
    let fill = rt.block_on(store::run(
        spec.clone(),
        cfg(0.0, 3_600.0, a.search_messages),
        Some(srv.pid()),
    ));
    let max = Duration::from_secs(if a.smoke { 60 } else { 1_800 });
    let lag = search::wait_indexed(dir, fill.acked, max);
    let fill_secs = fill.acked as f64 / fill.acked_per_sec.max(1.0);
    let secs = a.secs.max(if a.smoke { 2.0 } else { 10.0 });
    let addr = srv.addr;
    let asking = std::thread::spawn(move || search::ask_for(addr, secs));
    let posting = rt.block_on(store::run(
        spec,
        cfg(a.search_rate, secs, 0),
        Some(srv.pid()),
    ));
    let queries = asking
        .join()
        .map_err(|_| anyhow::anyhow!("the search thread panicked"))??;
    Ok(SearchReport {
        index_lag_secs: lag.map(|d| d.as_secs_f64()),
        indexed_per_sec: lag.map(|d| fill.acked as f64 / (fill_secs + d.as_secs_f64())),
        fill,
        queries,
        posting,
    })
}

/// The medians over rounds, printed and saved.
pub fn summarize(runs: &[Run]) -> (String, Value) {
    let med = |scenario: &str, ptr: &str| {
        median(
            runs.iter()
                .filter(|r| r.scenario == scenario)
                .filter_map(|r| r.report.pointer(ptr).and_then(Value::as_f64))
                .collect(),
        )
    };
    let (Some(on), Some(off)) = (
        med("search-store-on", "/acked_per_sec"),
        med("search-store-off", "/acked_per_sec"),
    ) else {
        return (String::new(), Value::Null);
    };
    let mut text = format!(
        "search (Banter, {} messages, queries while posting)\n",
        thousands(med("search", "/fill/acked").unwrap_or(0.0))
    );
    let mut kinds = json!({});
    for k in ["one-word", "two-words", "substring", "cjk"] {
        let p50 = med("search", &format!("/queries/{k}/latency_ms/p50"));
        let p99 = med("search", &format!("/queries/{k}/latency_ms/p99"));
        let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        text += &format!(
            "{k:<10} query p50 / p99      {:>7} / {} ms\n",
            f(p50),
            f(p99)
        );
        kinds[k] = json!({ "p50_ms": p50, "p99_ms": p99 });
    }
    let indexed = med("search", "/indexed_per_sec");
    text += &format!(
        "indexed per second             {:>12}\n\
         stored/s, index on             {:>12}\n\
         stored/s, index off            {:>12}\n\
         on / off                       {:>11.1} %\n",
        indexed.map_or("-".into(), thousands),
        thousands(on),
        thousands(off),
        on / off.max(1.0) * 100.0,
    );
    let json = json!({
        "queries": kinds,
        "indexed_per_sec": indexed,
        "stored_per_sec_on": on,
        "stored_per_sec_off": off,
        "on_over_off": on / off.max(1.0),
    });
    (text, json)
}
