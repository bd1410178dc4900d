//! The comparison `banter-loadgen bench` prints and saves: medians per server and metric over
//! the rounds, the Banter/reference ratios, and the JSON saved under `--out` ([`finish`]).

use anyhow::Result;
use serde_json::{Value, json};

use crate::bench_args::{BenchArgs, Run};
use crate::bench_measure::median;
use crate::bench_server::Kind;
use crate::report::thousands;

/// Medians per server and metric, ratios, and the printed comparison table.
pub(crate) fn summarize(a: &BenchArgs, kinds: &[Kind], runs: &[Run]) -> (String, Value) {
    let pick = |k: Kind, scenario: &str, target: Option<u64>, ptr: &str| -> Vec<f64> {
        runs.iter()
            .filter(|r| {
                r.server == k && r.scenario == scenario && (target.is_none() || r.target == target)
            })
            .filter_map(|r| r.report.pointer(ptr).and_then(Value::as_f64))
            .collect()
    };
    // Highest sustained target per round, then the median over rounds.
    let best = |k: Kind| -> Vec<f64> {
        (1..=a.rounds)
            .filter(|round| {
                runs.iter()
                    .any(|r| r.round == *round && r.server == k && r.scenario == "fanout")
            })
            .map(|round| {
                runs.iter()
                    .filter(|r| r.round == round && r.server == k && r.scenario == "fanout")
                    .filter(|r| {
                        let f =
                            |p: &str| r.report.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
                        f("/connected") as usize == a.clients
                            && f("/delivered_pct") >= 99.9
                            && f("/latency_ms/p99") < 50.0
                    })
                    .filter_map(|r| r.target)
                    .max()
                    .unwrap_or(0) as f64
            })
            .collect()
    };
    let mut rows: Vec<(String, Vec<Option<f64>>, bool)> = Vec::new(); // (metric, per kind, higher is better)
    rows.push((
        "connects/s".into(),
        kinds
            .iter()
            .map(|&k| median(pick(k, "connect", None, "/connects_per_sec")))
            .collect(),
        true,
    ));
    rows.push((
        "connect setup p99 ms".into(),
        kinds
            .iter()
            .map(|&k| median(pick(k, "connect", None, "/setup_latency_ms/p99")))
            .collect(),
        false,
    ));
    rows.push((
        format!("idle bytes/conn ({} conns)", a.idle_conns),
        kinds
            .iter()
            .map(|&k| median(pick(k, "idle", None, "/server_bytes_per_conn")))
            .collect(),
        false,
    ));
    rows.push((
        "max sustained deliveries/s".into(),
        kinds.iter().map(|&k| median(best(k))).collect(),
        true,
    ));
    let mut sweep = Vec::new();
    for &t in &a.deliveries {
        for (label, ptr, hib) in [
            ("delivered/s", "/deliveries_per_sec", true),
            ("delivered %", "/delivered_pct", true),
            ("p50 ms", "/latency_ms/p50", false),
            ("p99 ms", "/latency_ms/p99", false),
            ("p99.9 ms", "/latency_ms/p999", false),
            ("server CPU %", "/server/cpu_pct", false),
        ] {
            let vals: Vec<Option<f64>> = kinds
                .iter()
                .map(|&k| median(pick(k, "fanout", Some(t), ptr)))
                .collect();
            if vals.iter().any(Option::is_some) {
                sweep.push((format!("@{}/s {label}", thousands(t as f64)), vals, hib));
            }
        }
    }
    rows.extend(sweep);

    let mut text = String::new();
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10).max(10);
    text.push_str(&format!(
        "\nmedians over {} round(s)\n{:<w$}",
        a.rounds, "metric"
    ));
    for k in kinds {
        text.push_str(&format!(" {:>14}", k.name()));
    }
    // A Banter/reference ratio column for each reference run alongside Banter.
    let banter_at = kinds.iter().position(|&k| k == Kind::Banter);
    let refs: Vec<(Kind, Option<usize>)> = [Kind::Node, Kind::Naive]
        .into_iter()
        .map(|r| (r, kinds.iter().position(|&k| k == r)))
        .collect();
    for (r, at) in &refs {
        if banter_at.is_some() && at.is_some() {
            text.push_str(&format!(" {:>14}", format!("banter/{}", r.name())));
        }
    }
    text.push('\n');
    let fmt = |v: Option<f64>| match v {
        None => "-".to_owned(),
        Some(x) if x.abs() >= 1000.0 => thousands(x),
        Some(x) => format!("{x:.2}"),
    };
    let mut json_rows = Vec::new();
    for (metric, vals, hib) in &rows {
        text.push_str(&format!("{metric:<w$}"));
        for v in vals {
            text.push_str(&format!(" {:>14}", fmt(*v)));
        }
        let mut obj = serde_json::Map::new();
        obj.insert("metric".into(), json!(metric));
        obj.insert("higher_is_better".into(), json!(hib));
        for (k, v) in kinds.iter().zip(vals) {
            obj.insert(k.name().into(), json!(v));
        }
        for (r, at) in &refs {
            let (Some(b), Some(at)) = (banter_at, *at) else {
                obj.insert(format!("ratio_banter_over_{}", r.name()), Value::Null);
                continue;
            };
            let ratio = match (vals[b], vals[at]) {
                (Some(b), Some(n)) if n != 0.0 => Some(b / n),
                _ => None,
            };
            text.push_str(&format!(
                " {:>14}",
                ratio.map_or("-".into(), |r| format!("{r:.2}×"))
            ));
            obj.insert(format!("ratio_banter_over_{}", r.name()), json!(ratio));
        }
        text.push('\n');
        json_rows.push(Value::Object(obj));
    }
    (text, Value::Array(json_rows))
}

/// Saves the run's JSON under `--out` (`smoke-` first for a smoke run) and, for a smoke run,
/// reports what failed: `false` when something did.
pub(crate) fn finish(
    a: &BenchArgs,
    name: &str,
    doc: &Value,
    smoke_failures: &[String],
    all_worked: &str,
) -> Result<bool> {
    std::fs::create_dir_all(&a.out)?;
    let smoke = if a.smoke { "smoke-" } else { "" };
    let file = a.out.join(format!("{smoke}{name}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(doc)?)?;
    println!("results saved to {}", file.display());
    if a.smoke {
        if smoke_failures.is_empty() {
            println!("smoke: {all_worked}");
        } else {
            for f in smoke_failures {
                eprintln!("smoke FAILED: {f}");
            }
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_measure::stamp;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn ratios_per_reference() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            a: BenchArgs,
        }
        let a = <Cli as clap::Parser>::parse_from(["bench", "--rounds", "1"]).a;
        assert_eq!(a.servers, ["banter", "node", "naive"]);
        let idle = |server, bytes: f64| Run {
            round: 1,
            server,
            scenario: "idle",
            others_before_pct: None,
            attempts: 1,
            target: None,
            report: json!({ "server_bytes_per_conn": bytes }),
        };
        let runs = [
            idle(Kind::Banter, 4000.0),
            idle(Kind::Node, 8000.0),
            idle(Kind::Naive, 16000.0),
        ];
        let row = |kinds: &[Kind]| {
            let (text, rows) = summarize(&a, kinds, &runs);
            let row = rows
                .as_array()
                .and_then(|r| {
                    r.iter()
                        .find(|r| r["metric"].as_str() == Some("idle bytes/conn (10000 conns)"))
                })
                .cloned()
                .expect("idle row");
            (text, row)
        };
        let (text, r) = row(&[Kind::Banter, Kind::Node, Kind::Naive]);
        assert!(
            text.contains("banter/node") && text.contains("banter/naive"),
            "{text}"
        );
        assert_eq!(r["ratio_banter_over_node"], json!(0.5));
        assert_eq!(r["ratio_banter_over_naive"], json!(0.25));
        let (text, r) = row(&[Kind::Banter, Kind::Node]);
        assert!(
            text.contains("banter/node") && !text.contains("banter/naive"),
            "{text}"
        );
        assert_eq!(r["ratio_banter_over_node"], json!(0.5));
        assert_eq!(r["ratio_banter_over_naive"], Value::Null);
    }

    #[test]
    fn stamp_shape() {
        let s = stamp();
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.starts_with("20"));
    }
}
