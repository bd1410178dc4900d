//! The `reactions` scenario (v1.2): a reaction storm. N members of one room each react to the
//! same message within `spread` (1 s by default): N change entries, each delivered to all N
//! members (N² `change` frames in about a second). What a user would notice: nobody is kicked
//! for being too slow (close 4000), every member sees every reaction, and the server's memory
//! does not grow past the room's budget (the message's folded state holds N reactions).
//!
//! Member `i` (named `r-i`) sends its `react` at `t0 + i·spread/N` with a `client_id` that
//! carries the send time, so its `ack` gives the stored latency; a `change` frame carries the
//! reacting user's name, whose index gives the send time it is measured against (one `memmem`
//! search per frame, no JSON parsing after setup).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use banter_protocol::{ClientMsg, ServerMsg};
use hdrhistogram::Histogram;
use memchr::memmem;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client::{self, ConnSpec, Shared, find_ts, lock};
use crate::procstat::Proc;
use crate::report::{self, Latency, mb};
use crate::ws::{WsConn, op};

const ROOM: &str = "reactions";
const EMOJI: &str = "👍";

/// The scenario's parameters.
#[derive(Debug, Clone, Serialize)]
pub struct ReactionsCfg {
    /// Members in the room, each reacting once.
    pub members: usize,
    /// The reactions are spread evenly over this time.
    #[serde(serialize_with = "report::secs")]
    pub spread: Duration,
    /// How long to wait for the last deliveries after the spread.
    #[serde(serialize_with = "report::secs")]
    pub drain: Duration,
    /// The room's byte budget the server runs with (its `--hot-window-bytes`): memory may not
    /// grow past it.
    pub budget_bytes: u64,
    pub connect_concurrency: usize,
}

/// What a reaction storm measured.
#[derive(Debug, Clone, Serialize)]
pub struct ReactionsReport {
    pub config: ReactionsCfg,
    pub connected: u64,
    pub reacted: u64,
    /// Reactions acked with a new entry's `seq`.
    pub stored: u64,
    /// Reactions stored per second, first send to last ack.
    pub stored_per_sec: f64,
    /// Send to `ack`, in milliseconds.
    pub stored_latency_ms: Latency,
    /// `change` frames delivered, of `stored × connected`.
    pub delivered: u64,
    pub expected: u64,
    pub delivered_pct: f64,
    /// Send to each member's `change` frame, in milliseconds.
    pub delivered_latency_ms: Latency,
    /// Requests refused (`error` frames).
    pub refused: u64,
    /// Members closed with 4000 (too slow) or otherwise lost during the storm.
    pub kicked: u64,
    pub dropped: u64,
    pub rss_before_mb: Option<f64>,
    pub rss_peak_mb: Option<f64>,
    /// Peak resident memory over what the server held before the storm.
    pub rss_growth_mb: Option<f64>,
    pub within_budget: Option<bool>,
    pub errors: std::collections::BTreeMap<String, u64>,
}

impl ReactionsReport {
    /// Whether the storm went as a user needs: everyone stayed, saw every reaction, and memory
    /// stayed within the budget.
    pub fn held(&self) -> bool {
        self.kicked == 0
            && self.dropped == 0
            && self.connected as usize == self.config.members
            && self.stored > 0
            && self.delivered_pct >= 99.9
            && self.within_budget != Some(false)
    }

    pub fn table(&self) -> String {
        let (s, d) = (&self.stored_latency_ms, &self.delivered_latency_ms);
        report::table(
            "reactions",
            &[
                ("members", format!("{} connected", self.connected)),
                (
                    "stored / reacted",
                    format!("{} / {}", self.stored, self.reacted),
                ),
                ("stored per second", report::thousands(self.stored_per_sec)),
                (
                    "stored p50 / p99",
                    format!("{:.2} / {:.2} ms", s.p50, s.p99),
                ),
                (
                    "delivered",
                    format!(
                        "{} of {} ({:.3} %)",
                        self.delivered, self.expected, self.delivered_pct
                    ),
                ),
                (
                    "delivered p50 / p99",
                    format!("{:.2} / {:.2} ms", d.p50, d.p99),
                ),
                (
                    "kicked (4000) / dropped",
                    format!("{} / {}", self.kicked, self.dropped),
                ),
                (
                    "server RSS growth",
                    format!(
                        "{} MB (budget {:.0} MB)",
                        report::opt(self.rss_growth_mb, 1),
                        mb(self.config.budget_bytes)
                    ),
                ),
            ],
        )
    }
}

/// What the members share besides [`Shared`]: each member's send time, the acks.
struct Storm {
    sent_at: Vec<AtomicU64>,
    stored: AtomicU64,
    refused: AtomicU64,
    kicked: AtomicU64,
    first_send_us: AtomicU64,
    last_ack_us: AtomicU64,
    acks: std::sync::Mutex<Histogram<u64>>,
}

/// Runs the storm against `spec`; `pid` is the server's, for its memory.
pub async fn run(spec: Arc<ConnSpec>, cfg: ReactionsCfg, pid: Option<u32>) -> ReactionsReport {
    let shared = Shared::new();
    let n = cfg.members.max(1);
    let conns = connect_all(&spec, &cfg, &shared).await;
    let storm = Arc::new(Storm {
        sent_at: (0..n).map(|_| AtomicU64::new(0)).collect(),
        stored: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        kicked: AtomicU64::new(0),
        first_send_us: AtomicU64::new(u64::MAX),
        last_ack_us: AtomicU64::new(0),
        acks: std::sync::Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3).expect("bounds")),
    });
    let mut conns = conns.into_iter();
    let target = match conns.next() {
        Some((i, mut first)) => match post_target(&mut first).await {
            Ok(seq) => Some((seq, (i, first))),
            Err(e) => {
                shared.error("posting the message to react to", &e);
                None
            }
        },
        None => None,
    };
    let server = pid.map(Proc::Pid);
    let rss_before = server.and_then(Proc::rss_bytes);
    let mut tasks = JoinSet::new();
    if let Some((seq, first)) = target {
        let t0 = shared.now_us() + 50_000;
        let spread = cfg.spread.as_micros() as u64;
        let end = t0 + spread + cfg.drain.as_micros() as u64;
        for (i, conn) in std::iter::once(first).chain(conns) {
            let at = t0 + spread * i as u64 / n as u64;
            let (shared, storm) = (shared.clone(), storm.clone());
            tasks.spawn(member(i, conn, seq, at, end, n as u64, shared, storm));
        }
    }
    while tasks.join_next().await.is_some() {}
    let rss_peak = server.and_then(Proc::peak_rss_bytes);
    finish(cfg, &shared, &storm, rss_before, rss_peak)
}

/// Connects and joins every member (a bounded number at a time), keeping their indexes.
async fn connect_all(
    spec: &Arc<ConnSpec>,
    cfg: &ReactionsCfg,
    shared: &Arc<Shared>,
) -> Vec<(usize, WsConn)> {
    let mut out = Vec::new();
    let mut pending = JoinSet::new();
    let mut next = 0;
    while next < cfg.members || !pending.is_empty() {
        while next < cfg.members && pending.len() < cfg.connect_concurrency.max(1) {
            let (spec, shared, i) = (spec.clone(), shared.clone(), next);
            pending.spawn(async move {
                let setup = async {
                    let mut conn = spec.open(i).await?;
                    client::await_welcome(&mut conn).await?;
                    client::join(&mut conn, ROOM, &format!("r-{i}")).await?;
                    Ok(conn)
                };
                (i, shared.set_up(Duration::from_secs(60), setup).await)
            });
            next += 1;
        }
        if let Some(Ok((i, Some(conn)))) = pending.join_next().await {
            out.push((i, conn));
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Member 0 posts the message everyone reacts to; returns its `seq` (from the `ack`).
async fn post_target(conn: &mut WsConn) -> std::io::Result<u64> {
    let send = ClientMsg::Send {
        room: ROOM.into(),
        text: "react to this".into(),
        client_id: Some("target".into()),
        reply_to: None,
        files: Vec::new(),
    };
    conn.tx.push(op::TEXT, send.to_json().as_bytes());
    conn.tx.flush(&conn.stream).await?;
    loop {
        while let Some(f) = conn.rx.next_frame()? {
            if f.opcode != op::TEXT {
                continue;
            }
            match serde_json::from_slice::<ServerMsg>(f.payload) {
                Ok(ServerMsg::Ack { seq, .. }) => return Ok(seq),
                Ok(ServerMsg::Error { message, .. }) => return Err(std::io::Error::other(message)),
                _ => {}
            }
        }
        if conn.rx.fill(&conn.stream).await? == 0 {
            return Err(std::io::Error::other("closed before the ack"));
        }
    }
}

/// One member: reacts at `at`, then counts every `change` frame (and its own `ack`) until it has
/// seen `n` changes or `end` passes.
#[allow(clippy::too_many_arguments)]
async fn member(
    i: usize,
    mut conn: WsConn,
    target: u64,
    at: u64,
    end: u64,
    n: u64,
    shared: Arc<Shared>,
    storm: Arc<Storm>,
) {
    let (mut reacted, mut acked) = (false, false);
    let mut changes = 0u64;
    let mut latencies = Vec::new();
    while (changes < n || !acked) && shared.now_us() < end {
        let wake = if reacted { end } else { at };
        tokio::select! {
            _ = tokio::time::sleep_until(shared.at_us(wake)), if !reacted => {
                let now = shared.now_us();
                storm.sent_at[i].store(now, Relaxed);
                storm.first_send_us.fetch_min(now, Relaxed);
                let react = ClientMsg::React {
                    room: ROOM.into(),
                    seq: target,
                    emoji: EMOJI.into(),
                    remove: false,
                    client_id: Some(format!("@T{now}.{i}")),
                };
                conn.tx.push(op::TEXT, react.to_json().as_bytes());
                reacted = true;
                shared.sent.fetch_add(1, Relaxed);
                if conn.tx.flush(&conn.stream).await.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(shared.at_us(end)), if reacted => break,
            r = conn.rx.fill(&conn.stream) => {
                if !matches!(r, Ok(k) if k > 0) {
                    shared.dropped.fetch_add(1, Relaxed);
                    break;
                }
                match frames(&mut conn, &shared, &storm, &mut latencies, &mut acked) {
                    Ok(k) => changes += k,
                    Err(()) => break,
                }
                if !conn.tx.is_empty() && conn.tx.flush(&conn.stream).await.is_err() {
                    break;
                }
            }
        }
    }
    shared.deliveries.fetch_add(changes, Relaxed);
    let mut h = lock(&shared.hist);
    for l in latencies {
        h.saturating_record(l);
    }
}

/// The complete frames in `conn`'s buffer: `change` frames counted (latency against the reacting
/// member's send time), this member's `ack` (or refusal) noted in `answered`, pings answered.
/// `Err` on a close.
fn frames(
    conn: &mut WsConn,
    shared: &Shared,
    storm: &Storm,
    latencies: &mut Vec<u64>,
    answered: &mut bool,
) -> Result<u64, ()> {
    let now = shared.now_us();
    let mut changes = 0;
    while let Ok(Some(f)) = conn.rx.next_frame() {
        match f.opcode {
            op::TEXT if memmem::find(f.payload, br#""type":"change""#).is_some() => {
                changes += 1;
                if let Some(sent) = user_index(f.payload)
                    .and_then(|u| storm.sent_at.get(u))
                    .map(|t| t.load(Relaxed))
                    .filter(|&t| t > 0)
                {
                    latencies.push(now.saturating_sub(sent).max(1));
                }
            }
            op::TEXT if memmem::find(f.payload, br#""type":"ack""#).is_some() => {
                if memmem::find(f.payload, br#""seq":0"#).is_none() {
                    storm.stored.fetch_add(1, Relaxed);
                }
                if let Some(ts) = find_ts(f.payload) {
                    lock(&storm.acks).saturating_record(now.saturating_sub(ts).max(1));
                }
                storm.last_ack_us.fetch_max(now, Relaxed);
                *answered = true;
            }
            op::TEXT if memmem::find(f.payload, br#""type":"error""#).is_some() => {
                storm.refused.fetch_add(1, Relaxed);
                *answered = true;
                let text = String::from_utf8_lossy(f.payload);
                shared.error("refused", &text);
            }
            op::PING => {
                let p = f.payload.to_vec();
                conn.tx.push(op::PONG, &p);
            }
            op::CLOSE => {
                let code = f
                    .payload
                    .get(..2)
                    .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                shared.close_code(code);
                if code == 4000 {
                    storm.kicked.fetch_add(1, Relaxed);
                } else {
                    shared.dropped.fetch_add(1, Relaxed);
                }
                return Err(());
            }
            _ => {}
        }
    }
    Ok(changes)
}

/// The index `i` of the reacting member `r-i` named in a `change` frame.
fn user_index(payload: &[u8]) -> Option<usize> {
    let at = memmem::find(payload, br#""user":"r-"#)? + br#""user":"r-"#.len();
    let digits = payload[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut v = None;
    for &d in digits {
        v = Some(v.unwrap_or(0) * 10 + usize::from(d - b'0'));
    }
    v
}

fn finish(
    cfg: ReactionsCfg,
    shared: &Shared,
    storm: &Storm,
    rss_before: Option<u64>,
    rss_peak: Option<u64>,
) -> ReactionsReport {
    let connected = storm.sent_at.len() as u64 - shared.failed.load(Relaxed);
    let stored = storm.stored.load(Relaxed);
    let delivered = shared.deliveries.load(Relaxed);
    let expected = stored * connected;
    let first = storm.first_send_us.load(Relaxed);
    let took = storm.last_ack_us.load(Relaxed).saturating_sub(first) as f64 / 1e6;
    let growth = rss_before.zip(rss_peak).map(|(a, b)| b.saturating_sub(a));
    ReactionsReport {
        connected,
        reacted: shared.sent.load(Relaxed),
        stored,
        stored_per_sec: if took > 0.0 {
            stored as f64 / took
        } else {
            0.0
        },
        stored_latency_ms: Latency::from_us(&lock(&storm.acks)),
        delivered,
        expected,
        delivered_pct: if expected > 0 {
            100.0 * delivered as f64 / expected as f64
        } else {
            0.0
        },
        delivered_latency_ms: Latency::from_us(&lock(&shared.hist)),
        refused: storm.refused.load(Relaxed),
        kicked: storm.kicked.load(Relaxed),
        dropped: shared.dropped.load(Relaxed),
        rss_before_mb: rss_before.map(mb),
        rss_peak_mb: rss_peak.map(mb),
        rss_growth_mb: growth.map(mb),
        within_budget: growth.map(|g| g <= cfg.budget_bytes),
        errors: lock(&shared.errors).clone(),
        config: cfg,
    }
}

#[cfg(test)]
mod tests {
    use super::user_index;

    #[test]
    fn a_change_frame_names_the_reacting_member() {
        let frame = br#"{"type":"change","room":"reactions","seq":9,"target":1,"user":"r-417","ts":1,"kind":"react","emoji":"x"}"#;
        assert_eq!(user_index(frame), Some(417));
        assert_eq!(user_index(br#"{"type":"change","user":"ada"}"#), None);
    }
}
