//! What `bench --cluster` records and shows: one run's record in the JSON ([`Run`]: each
//! process's CPU, the Redis shards' cost summed and one by one), its line as it finishes
//! ([`print_fanout`], [`print_store`]), and the medians over the rounds per system
//! ([`summarize`]: the printed table and the JSON summary).

use serde::Serialize;
use serde_json::{Value, json};

use crate::bench_args::BenchArgs;
use crate::bench_cluster_sut::System;
use crate::bench_measure::median;
use crate::redis_proc::RedisCost;
use crate::report::{opt, thousands};

/// One run's record in the JSON.
#[derive(Serialize)]
pub(crate) struct Run {
    pub(crate) round: usize,
    pub(crate) system: System,
    pub(crate) scenario: &'static str,
    pub(crate) target: Option<u64>,
    pub(crate) others_before_pct: Option<f64>,
    pub(crate) attempts: usize,
    /// Each process's CPU over the sending phase, percent of one core.
    pub(crate) cpu_pct: Vec<(String, Option<f64>)>,
    /// Every Redis shard together.
    pub(crate) redis: Option<RedisCost>,
    /// Each shard, in `--redis` order; its per-message figures are over every message of the
    /// run (so with 2 shards sharing the rooms, each does about half the work per message).
    pub(crate) redis_shards: Vec<RedisCost>,
    pub(crate) report: Value,
}

impl Run {
    pub(crate) fn f(&self, ptr: &str) -> Option<f64> {
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

    /// The whole of Redis (`None`), or shard `i`.
    fn cost(&self, shard: Option<usize>) -> Option<&RedisCost> {
        match shard {
            None => self.redis.as_ref(),
            Some(i) => self.redis_shards.get(i),
        }
    }

    /// `redis cpu 40% (3.0 cmds, 20 µs per msg)`, and each shard's when there are several.
    fn redis_line(&self) -> String {
        let part = |c: Option<&RedisCost>| {
            format!(
                "cpu {}% ({} cmds, {} µs per msg)",
                opt(c.map(|c| c.cpu_pct), 0),
                opt(c.and_then(|c| c.commands_per_msg), 1),
                opt(c.and_then(|c| c.cpu_us_per_msg), 0),
            )
        };
        let mut line = format!("redis {}", part(self.redis.as_ref()));
        if self.redis_shards.len() > 1 {
            for (i, c) in self.redis_shards.iter().enumerate() {
                line.push_str(&format!("  shard{} {}", i + 1, part(Some(c))));
            }
        }
        line
    }
}

pub(crate) fn print_fanout(r: &Run, ok: bool, disturbed: bool) {
    eprintln!(
        "[round {}] fanout {:<8} target {:>9}/s: {:>9}/s delivered {:.3} %  p50 {:.1} p99 {:.1} ms  nodes cpu {}%  {}  loadgen {}%  others {}%  {}",
        r.round,
        r.system.name(),
        thousands(r.target.unwrap_or(0) as f64),
        thousands(r.f("/deliveries_per_sec").unwrap_or(0.0)),
        r.f("/delivered_pct").unwrap_or(0.0),
        r.f("/latency_ms/p50").unwrap_or(0.0),
        r.f("/latency_ms/p99").unwrap_or(0.0),
        opt(r.nodes_cpu(), 0),
        r.redis_line(),
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

pub(crate) fn print_store(r: &Run) {
    eprintln!(
        "[round {}] {}  {:<8} {:>8} acked/s  ack p50 {:.2} p99 {:.2} ms  nodes cpu {}%  {}",
        r.round,
        r.scenario,
        r.system.name(),
        thousands(r.f("/acked_per_sec").unwrap_or(0.0)),
        r.f("/ack_latency_ms/p50").unwrap_or(0.0),
        r.f("/ack_latency_ms/p99").unwrap_or(0.0),
        opt(r.nodes_cpu(), 0),
        r.redis_line(),
    );
}

type Metric = Box<dyn Fn(&Run) -> Option<f64>>;

/// Redis's CPU, commands and CPU per message, of every shard (`None`) or of shard `i`.
fn cost_metrics(prefix: &str, shard: Option<usize>) -> Vec<(String, Metric)> {
    let who = match shard {
        None => "Redis".to_owned(),
        Some(i) => format!("Redis shard {}", i + 1),
    };
    vec![
        (
            format!("{prefix}{who} CPU %"),
            Box::new(move |r: &Run| r.cost(shard).map(|c| c.cpu_pct)),
        ),
        (
            format!("{prefix}{who} commands/msg"),
            Box::new(move |r: &Run| r.cost(shard).and_then(|c| c.commands_per_msg)),
        ),
        (
            format!("{prefix}{who} CPU µs/msg"),
            Box::new(move |r: &Run| r.cost(shard).and_then(|c| c.cpu_us_per_msg)),
        ),
    ]
}

/// The highest fan-out target `sys` sustained, per round.
fn best(a: &BenchArgs, runs: &[Run], sys: System, ok: impl Fn(&Run) -> bool) -> Vec<f64> {
    (1..=a.rounds)
        .map(|round| {
            runs.iter()
                .filter(|r| r.round == round && r.system == sys && r.scenario == "fanout")
                .filter(|r| ok(r))
                .filter_map(|r| r.target)
                .max()
                .unwrap_or(0) as f64
        })
        .collect()
}

/// Medians over the rounds per system, and the printed table. `ok`: whether a fan-out run
/// sustained its target.
pub(crate) fn summarize(a: &BenchArgs, runs: &[Run], ok: impl Fn(&Run) -> bool) -> (String, Value) {
    let systems = [System::Single, System::Cluster];
    let of = |sys: System, scenario: &'static str, target: Option<u64>| {
        runs.iter()
            .filter(move |r| r.system == sys && r.scenario == scenario && r.target == target)
    };
    let mut metrics: Vec<(String, Metric)> = vec![
        (
            "delivered/s".into(),
            Box::new(|r: &Run| r.f("/deliveries_per_sec")),
        ),
        (
            "delivered %".into(),
            Box::new(|r: &Run| r.f("/delivered_pct")),
        ),
        ("p50 ms".into(), Box::new(|r: &Run| r.f("/latency_ms/p50"))),
        ("p99 ms".into(), Box::new(|r: &Run| r.f("/latency_ms/p99"))),
        ("nodes CPU %".into(), Box::new(|r: &Run| r.nodes_cpu())),
    ];
    metrics.extend(cost_metrics("", None));
    let mut rows: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    if runs.iter().any(|r| r.scenario == "fanout") {
        rows.push((
            "max sustained deliveries/s".into(),
            systems
                .iter()
                .map(|&s| median(best(a, runs, s, &ok)))
                .collect(),
        ));
    }
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
    let mut store_metrics: Vec<(String, Metric)> = vec![
        (
            "store: messages/s acked".into(),
            Box::new(|r: &Run| r.f("/acked_per_sec")),
        ),
        (
            "store: ack p99 ms".into(),
            Box::new(|r: &Run| r.f("/ack_latency_ms/p99")),
        ),
        (
            "store: nodes CPU %".into(),
            Box::new(|r: &Run| r.nodes_cpu()),
        ),
    ];
    store_metrics.extend(cost_metrics("store: ", None));
    if a.shards > 1 {
        for i in 0..a.shards {
            store_metrics.extend(cost_metrics("store: ", Some(i)));
        }
    }
    if runs.iter().any(|r| r.scenario == "store") {
        for (label, m) in &store_metrics {
            let vals: Vec<Option<f64>> = systems
                .iter()
                .map(|&s| median(of(s, "store", None).filter_map(m).collect()))
                .collect();
            rows.push((label.clone(), vals));
        }
    }
    if runs.iter().any(|r| r.scenario == "store-latency") {
        let latency: [(String, Metric); 2] = [
            (
                format!("store at {}/s: acked/s", thousands(a.store_rate)),
                Box::new(|r: &Run| r.f("/acked_per_sec")),
            ),
            (
                format!("store at {}/s: ack p99 ms", thousands(a.store_rate)),
                Box::new(|r: &Run| r.f("/ack_latency_ms/p99")),
            ),
        ];
        for (label, m) in &latency {
            let vals: Vec<Option<f64>> = systems
                .iter()
                .map(|&s| median(of(s, "store-latency", None).filter_map(m).collect()))
                .collect();
            rows.push((label.clone(), vals));
        }
    }
    table(a, &rows)
}

/// The printed table and its JSON rows.
fn table(a: &BenchArgs, rows: &[(String, Vec<Option<f64>>)]) -> (String, Value) {
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    let mut text = format!(
        "\nmedians over {} round(s)\n{:<w$} {:>14} {:>16}\n",
        a.rounds,
        "metric",
        System::Single.name(),
        format!("{} nodes+{} Redis", a.nodes, a.shards)
    );
    let fmt = |v: Option<f64>| match v {
        None => "-".to_owned(),
        Some(x) if x.abs() >= 1000.0 => thousands(x),
        Some(x) => format!("{x:.2}"),
    };
    let mut json_rows = Vec::new();
    for (metric, vals) in rows {
        text.push_str(&format!(
            "{metric:<w$} {:>14} {:>16}\n",
            fmt(vals[0]),
            fmt(vals[1])
        ));
        json_rows.push(json!({ "metric": metric, "single": vals[0], "cluster": vals[1] }));
    }
    (text, Value::Array(json_rows))
}
