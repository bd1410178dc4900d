//! The chart `banter-loadgen bench` draws beside its JSON: fan-out p99 latency against the
//! offered rate, one line per server (Banter beside the references), as a self-contained SVG
//! that README shows. Each point is the median over the rounds that reached that rate; a hollow
//! point is a rate the server did not sustain (under 99.9 % delivered).

use std::fmt::Write as _;

use serde_json::Value;

use crate::bench_args::Run;
use crate::bench_measure::median;
use crate::bench_server::Kind;

const W: f64 = 720.0;
const H: f64 = 400.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 56.0;
/// The y axis ends here (ms): a p99 past it is drawn at the top edge.
const Y_MAX: f64 = 100.0;
/// The latency bound of a sustained rate.
const P99_BOUND: f64 = 50.0;

/// One server's points: (offered deliveries/s, median p99 ms, sustained).
type Line = (Kind, Vec<(f64, f64, bool)>);

/// The SVG, or `None` when no fan-out run holds a latency.
pub(crate) fn fanout_svg(kinds: &[Kind], runs: &[Run]) -> Option<String> {
    let lines: Vec<Line> = kinds.iter().map(|&k| (k, points(k, runs))).collect();
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.0))
        .collect();
    let (lo, hi) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(0.0, f64::max),
    );
    if xs.is_empty() || lo <= 0.0 {
        return None;
    }
    let (lx, hx) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let x = |v: f64| LEFT + (v.log10() - lx) / (hx - lx) * (W - LEFT - RIGHT);
    let y = |ms: f64| TOP + (1.0 - ms.min(Y_MAX) / Y_MAX) * (H - TOP - BOTTOM);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12"><rect width="{W}" height="{H}" fill="#fff"/><text x="{LEFT}" y="22" font-size="14" font-weight="bold">Fan-out: p99 latency by offered rate (1,000 clients, one room)</text>"##
    );
    axes(&mut svg, lx, hx, &x, &y);
    for (i, (k, pts)) in lines.iter().enumerate() {
        series(&mut svg, i, *k, pts, &x, &y);
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

/// Median p99 and sustained-ness per offered rate, ascending.
fn points(k: Kind, runs: &[Run]) -> Vec<(f64, f64, bool)> {
    let mut targets: Vec<u64> = runs
        .iter()
        .filter(|r| r.server == k && r.scenario == "fanout")
        .filter_map(|r| r.target)
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let f = |r: &Run, p: &str| r.report.pointer(p).and_then(Value::as_f64);
    targets
        .into_iter()
        .filter_map(|t| {
            let at: Vec<&Run> = runs
                .iter()
                .filter(|r| r.server == k && r.scenario == "fanout" && r.target == Some(t))
                .collect();
            let p99 = median(at.iter().filter_map(|r| f(r, "/latency_ms/p99")).collect())?;
            let pct = median(at.iter().filter_map(|r| f(r, "/delivered_pct")).collect())?;
            Some((t as f64, p99, pct >= 99.9))
        })
        .collect()
}

fn axes(svg: &mut String, lx: f64, hx: f64, x: &impl Fn(f64) -> f64, y: &impl Fn(f64) -> f64) {
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, y(0.0), y(Y_MAX));
    let _ = write!(
        svg,
        r##"<path d="M{x0} {y1}V{y0}H{x1}" stroke="#333" fill="none"/><path d="M{x0} {b}H{x1}" stroke="#c00" stroke-dasharray="4 4"/><text x="{t}" y="{b}" fill="#c00" dy="4">p99 50 ms</text>"##,
        b = y(P99_BOUND),
        t = x1 + 6.0,
    );
    for ms in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end" dy="4">{ms}</text>"##,
            x0 - 6.0,
            y(ms)
        );
    }
    let mut e = lx as i32;
    while e as f64 <= hx {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if v.log10() > hx + 1e-9 {
                break;
            }
            let _ = write!(
                svg,
                r##"<path d="M{px} {y0}v5" stroke="#333"/><text x="{px}" y="{ty}" text-anchor="middle">{label}</text>"##,
                px = x(v),
                ty = y0 + 18.0,
                label = short(v),
            );
        }
        e += 1;
    }
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" text-anchor="middle">offered deliveries/s (log scale)</text><text transform="translate(16 {}) rotate(-90)" text-anchor="middle">p99 ms</text>"##,
        (x0 + x1) / 2.0,
        H - 12.0,
        (y0 + y1) / 2.0
    );
}

fn series(
    svg: &mut String,
    i: usize,
    k: Kind,
    pts: &[(f64, f64, bool)],
    x: &impl Fn(f64) -> f64,
    y: &impl Fn(f64) -> f64,
) {
    let color = ["#1f6feb", "#8a8a8a", "#d97706"][i % 3];
    let path: Vec<String> = pts
        .iter()
        .map(|&(v, ms, _)| format!("{:.1},{:.1}", x(v), y(ms)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"##,
        path.join(" ")
    );
    for &(v, ms, ok) in pts {
        let fill = if ok { color } else { "#fff" };
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{fill}" stroke="{color}" stroke-width="2"/>"##,
            x(v),
            y(ms)
        );
    }
    let ly = TOP + 20.0 + 22.0 * i as f64;
    let lx = W - RIGHT + 70.0;
    let _ = write!(
        svg,
        r##"<path d="M{lx} {ly}h18" stroke="{color}" stroke-width="3"/><text x="{}" y="{ly}" dy="4">{}</text>"##,
        lx + 24.0,
        match k {
            Kind::Banter => "Banter",
            Kind::Node => "Node ws",
            Kind::Naive => "naive axum",
        }
    );
}

/// `2000000` as `2M`, `50000` as `50k`.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(server: Kind, target: u64, p99: f64, pct: f64) -> Run {
        Run {
            round: 1,
            server,
            scenario: "fanout",
            others_before_pct: None,
            attempts: 1,
            target: Some(target),
            report: json!({"latency_ms": {"p99": p99}, "delivered_pct": pct}),
        }
    }

    #[test]
    fn one_line_per_server_and_hollow_points_where_not_sustained() {
        let runs = [
            run(Kind::Banter, 100_000, 3.0, 100.0),
            run(Kind::Banter, 1_000_000, 12.0, 100.0),
            run(Kind::Node, 100_000, 9.0, 100.0),
            run(Kind::Node, 1_000_000, 400.0, 40.0),
        ];
        let svg = fanout_svg(&[Kind::Banter, Kind::Node], &runs).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches(r##"fill="#fff" stroke"##).count(), 1);
        assert!(svg.contains("Banter") && svg.contains("Node ws") && svg.contains("1M"));
    }

    #[test]
    fn nothing_to_draw_without_fanout_runs() {
        assert!(fanout_svg(&[Kind::Banter], &[]).is_none());
    }

    #[test]
    fn short_labels() {
        assert_eq!(short(2_000_000.0), "2M");
        assert_eq!(short(50_000.0), "50k");
    }
}
