//! Results as people and machines read them: latency summaries, the server's resource use, the
//! progress bar shown while a run is going, and the end-of-run table.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Serialize, Serializer};

use crate::client::Shared;
use crate::procstat::Proc;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    /// From a histogram of microseconds. With no samples every percentile is 0.
    pub fn from_us(h: &Histogram<u64>) -> Self {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50: ms(0.5),
            p90: ms(0.9),
            p99: ms(0.99),
            p999: ms(0.999),
            max: h.max() as f64 / 1000.0,
        }
    }
}

/// The server's CPU and memory over a run (from `/proc/PID`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ServerUse {
    /// Percent of one core, averaged over the run.
    pub cpu_pct: Option<f64>,
    pub rss_start_mb: Option<f64>,
    pub rss_end_mb: Option<f64>,
    pub rss_peak_mb: Option<f64>,
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Serializes a duration as seconds.
pub fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The progress bar of one run (drawn on stderr; hidden when stderr is not a terminal).
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(what: &str, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>8} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(what.to_owned());
        bar.set_message("connecting");
        Progress { bar }
    }

    /// Waits until `want` connections are ready or failed, or `timeout`.
    pub async fn wait_ready(&self, shared: &Shared, want: u64, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ready = shared.ready.load(Relaxed);
            let failed = shared.failed.load(Relaxed);
            self.bar.set_position(ready);
            if failed > 0 {
                self.bar
                    .set_message(format!("connecting ({failed} failed)"));
            }
            if ready + failed >= want || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Shows the run until `end_us`, then waits for stragglers (until all expected deliveries
    /// arrived, nothing arrived for a second, or `drain` passed). Returns the server's peak RSS.
    pub async fn run(
        &self,
        shared: &Shared,
        server: Option<Proc>,
        t0_us: u64,
        end_us: u64,
        drain: Duration,
    ) -> Option<u64> {
        let total_ms = (end_us - t0_us) / 1000;
        self.bar.set_length(total_ms.max(1));
        self.bar.set_position(0);
        self.bar.reset_elapsed();
        let mut peak = server.and_then(Proc::rss_bytes);
        let mut last = (shared.now_us(), 0u64);
        let drain_end = end_us + drain.as_micros() as u64;
        let mut idle_since = None;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = shared.now_us();
            let got = shared.deliveries.load(Relaxed);
            let expected = shared.expected.load(Relaxed);
            if let Some(r) = server.and_then(Proc::rss_bytes) {
                peak = peak.max(Some(r));
            }
            let rate = (got - last.1) as f64 / ((now - last.0).max(1) as f64 / 1e6);
            last = (now, got);
            self.bar
                .set_position(now.saturating_sub(t0_us).min(end_us - t0_us) / 1000);
            self.bar.set_message(format!(
                "sent {} · delivered {got}/{expected} · {:.0}/s",
                shared.sent.load(Relaxed),
                rate
            ));
            if now < end_us {
                continue;
            }
            if got >= expected || now >= drain_end {
                break;
            }
            if rate == 0.0 {
                let since = *idle_since.get_or_insert(now);
                if now - since >= 1_000_000 {
                    break;
                }
            } else {
                idle_since = None;
            }
        }
        self.bar.finish_and_clear();
        peak
    }

    /// Shows a count that some other loop advances.
    pub fn set(&self, pos: u64, msg: String) {
        self.bar.set_position(pos);
        self.bar.set_message(msg);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A two-column table of `(label, value)` rows, for the end of a run.
pub fn table(title: &str, rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = format!("{title}\n");
    for (k, v) in rows {
        s.push_str(&format!("  {k:<w$}  {v}\n"));
    }
    s
}

/// Formats an optional number with `prec` decimals, or `-`.
pub fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.prec$}"))
}

/// Formats a count with thousands separators.
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(0.0), "0");
    }
}
