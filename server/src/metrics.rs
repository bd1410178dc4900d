//! Prometheus metrics: every metric's name, its help text, and one small recording helper per
//! event, so the code that counts never spells a name or a label.
//!
//! One registry per process (a [`PrometheusRecorder`] built on first use; it is not installed as
//! the `metrics` crate's global recorder, so nothing else in the process can collide with it).
//! Every handle is registered once, up front: recording is then an atomic add on a counter, or a
//! lock-free push into a histogram's bucket, never a name lookup. Fan-out counts a message's
//! deliveries with one add of the member count, not one per member, and times one message in
//! [`FANOUT_SAMPLE_EVERY`] (per thread): on a virtual machine a clock read pair and a histogram
//! sample cost about 10 times the counter add, so timing every message would be most of the cost. A background thread drains
//! histogram samples every few seconds, so memory stays bounded even if nobody scrapes.
//!
//! Gauges that the server can read at any time (open connections, rooms loaded) are set when
//! `GET /metrics` is scraped, so they cost nothing in between.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Open WebSocket connections (set on scrape).
pub const CONNECTIONS: &str = "banter_connections";
/// Rooms held in memory (set on scrape).
pub const ROOMS_LOADED: &str = "banter_rooms_loaded";
/// Messages stored, labelled `path` = `ws`, `http` or `classic` (duplicates are not counted).
pub const MESSAGES_STORED: &str = "banter_messages_stored_total";
/// Message frames queued to room members by fan-out.
pub const DELIVERIES: &str = "banter_deliveries_total";
/// Time to queue one message to every member of its room (one message in
/// [`FANOUT_SAMPLE_EVERY`] is timed).
pub const FANOUT_SECONDS: &str = "banter_fanout_seconds";
/// Connections closed by the server, labelled `reason` = `too_slow`, `idle` or `too_big`.
pub const KICKED: &str = "banter_clients_kicked_total";
/// Joins with `since`, labelled `complete` = `true` or `false` (history no longer held all).
pub const RESUMES: &str = "banter_resumes_total";
/// Client messages refused with `rate_limited`.
pub const RATE_LIMITED: &str = "banter_rate_limited_total";
/// WebSocket connections opened since start.
pub const CONNECTIONS_OPENED: &str = "banter_connections_opened_total";
/// Time of one store commit (a batch of writes made durable).
pub const STORE_COMMIT_SECONDS: &str = "banter_store_commit_seconds";
/// Messages per store commit.
pub const STORE_BATCH_SIZE: &str = "banter_store_batch_size";
/// Errors talking to Redis (clustered nodes).
pub const REDIS_ERRORS: &str = "banter_redis_errors_total";
/// Gaps in a room's sequence filled from Redis (clustered nodes).
pub const REDIS_GAP_FILLS: &str = "banter_redis_gap_fills_total";
/// Sockets closed by the accept loop's limits, labelled `reason` = `per_ip` (refused at accept),
/// `no_request` (no request head in time) or `write_timeout` (the peer read nothing).
pub const SOCKETS_CLOSED: &str = "banter_sockets_closed_total";
/// Web Push requests made, labelled `outcome` = `sent`, `gone` (404/410: the subscription was
/// removed) or `failed`.
pub const PUSHES: &str = "banter_pushes_total";
/// Messages that made no push, labelled `reason` = `online` (the user has a connection),
/// `muted`, `unsubscribed` (no subscription) or `dropped` (the push queue was full).
pub const PUSH_SKIPPED: &str = "banter_push_skipped_total";

/// What became of one Web Push request (see [`PUSHES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Sent,
    Gone,
    Failed,
}

/// Why a message made no push (see [`PUSH_SKIPPED`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushSkipped {
    Online,
    Muted,
    Unsubscribed,
    Dropped,
}

/// Where a message entered the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Ws,
    Http,
    Classic,
}

/// Why the server closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// Its outbound queue filled up (close 4000).
    TooSlow,
    /// Silent past the idle timeout (close 4000).
    Idle,
    /// A frame over `--max-frame-bytes` (close 1009).
    TooBig,
}

/// Why the accept loop closed a socket (see [`SOCKETS_CLOSED`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketClosed {
    /// Over `--max-tcp-connections-per-ip`, closed at accept.
    PerIp,
    /// No complete request head within `--http-header-timeout` of accept.
    NoRequest,
    /// A write blocked past `--write-timeout`.
    WriteTimeout,
}

const FANOUT_BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1,
];
const COMMIT_BUCKETS: &[f64] = &[
    1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];
/// One fan-out in this many (per thread) is timed for [`FANOUT_SECONDS`].
pub const FANOUT_SAMPLE_EVERY: u32 = 16;

thread_local! {
    static FANOUT_TICK: Cell<u32> = const { Cell::new(0) };
}

/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// The registry and every handle, registered once.
struct Metrics {
    handle: PrometheusHandle,
    connections: Gauge,
    rooms_loaded: Gauge,
    stored: [Counter; 3],
    deliveries: Counter,
    fanout: Histogram,
    kicked: [Counter; 3],
    resumes_complete: Counter,
    resumes_incomplete: Counter,
    rate_limited: Counter,
    opened: Counter,
    commit: Histogram,
    batch: Histogram,
    redis_errors: Counter,
    gap_fills: Counter,
    sockets_closed: [Counter; 3],
    pushes: [Counter; 3],
    push_skipped: [Counter; 4],
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

fn m() -> &'static Metrics {
    METRICS.get_or_init(build)
}

fn builder() -> PrometheusBuilder {
    let buckets = [
        (FANOUT_SECONDS, FANOUT_BUCKETS),
        (STORE_COMMIT_SECONDS, COMMIT_BUCKETS),
        (STORE_BATCH_SIZE, BATCH_BUCKETS),
    ];
    let mut b = PrometheusBuilder::new();
    for (name, values) in buckets {
        // Only fails for an empty bucket list.
        b = match b.set_buckets_for_metric(Matcher::Full(name.into()), values) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
    }
    b
}

fn build() -> Metrics {
    let rec = builder().build_recorder();
    describe(&rec);
    let meta = Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
    let counter = |name: &'static str, label: Option<(&'static str, &'static str)>| {
        let labels: Vec<Label> = label.map(|(k, v)| Label::new(k, v)).into_iter().collect();
        rec.register_counter(&Key::from_parts(name, labels), &meta)
    };
    let gauge = |name: &'static str| rec.register_gauge(&Key::from_static_name(name), &meta);
    let histogram =
        |name: &'static str| rec.register_histogram(&Key::from_static_name(name), &meta);
    let metrics = Metrics {
        handle: rec.handle(),
        connections: gauge(CONNECTIONS),
        rooms_loaded: gauge(ROOMS_LOADED),
        stored: [
            counter(MESSAGES_STORED, Some(("path", "ws"))),
            counter(MESSAGES_STORED, Some(("path", "http"))),
            counter(MESSAGES_STORED, Some(("path", "classic"))),
        ],
        deliveries: counter(DELIVERIES, None),
        fanout: histogram(FANOUT_SECONDS),
        kicked: [
            counter(KICKED, Some(("reason", "too_slow"))),
            counter(KICKED, Some(("reason", "idle"))),
            counter(KICKED, Some(("reason", "too_big"))),
        ],
        resumes_complete: counter(RESUMES, Some(("complete", "true"))),
        resumes_incomplete: counter(RESUMES, Some(("complete", "false"))),
        rate_limited: counter(RATE_LIMITED, None),
        opened: counter(CONNECTIONS_OPENED, None),
        commit: histogram(STORE_COMMIT_SECONDS),
        batch: histogram(STORE_BATCH_SIZE),
        redis_errors: counter(REDIS_ERRORS, None),
        gap_fills: counter(REDIS_GAP_FILLS, None),
        sockets_closed: [
            counter(SOCKETS_CLOSED, Some(("reason", "per_ip"))),
            counter(SOCKETS_CLOSED, Some(("reason", "no_request"))),
            counter(SOCKETS_CLOSED, Some(("reason", "write_timeout"))),
        ],
        pushes: [
            counter(PUSHES, Some(("outcome", "sent"))),
            counter(PUSHES, Some(("outcome", "gone"))),
            counter(PUSHES, Some(("outcome", "failed"))),
        ],
        push_skipped: [
            counter(PUSH_SKIPPED, Some(("reason", "online"))),
            counter(PUSH_SKIPPED, Some(("reason", "muted"))),
            counter(PUSH_SKIPPED, Some(("reason", "unsubscribed"))),
            counter(PUSH_SKIPPED, Some(("reason", "dropped"))),
        ],
    };
    let upkeep = metrics.handle.clone();
    let spawned = std::thread::Builder::new()
        .name("banter-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("metrics upkeep thread not started ({e}); histograms drain on scrape");
    }
    metrics
}

fn describe(rec: &PrometheusRecorder) {
    let help: [(&'static str, Option<Unit>, &'static str); 17] = [
        (CONNECTIONS, None, "Open WebSocket connections."),
        (ROOMS_LOADED, None, "Rooms held in memory."),
        (
            MESSAGES_STORED,
            None,
            "Messages stored, by entry path (ws, http, classic).",
        ),
        (
            DELIVERIES,
            None,
            "Message frames queued to room members by fan-out.",
        ),
        (
            FANOUT_SECONDS,
            Some(Unit::Seconds),
            "Time to queue one message to every member of its room (1 message in 16 is timed).",
        ),
        (
            KICKED,
            None,
            "Connections closed by the server, by reason (too_slow, idle, too_big).",
        ),
        (
            RESUMES,
            None,
            "Joins with since, by whether the replay was complete.",
        ),
        (
            RATE_LIMITED,
            None,
            "Client messages refused with rate_limited.",
        ),
        (
            CONNECTIONS_OPENED,
            None,
            "WebSocket connections opened since start.",
        ),
        (
            STORE_COMMIT_SECONDS,
            Some(Unit::Seconds),
            "Time of one store commit.",
        ),
        (STORE_BATCH_SIZE, None, "Messages per store commit."),
        (REDIS_ERRORS, None, "Errors talking to Redis."),
        (
            REDIS_GAP_FILLS,
            None,
            "Gaps in a room's sequence filled from Redis.",
        ),
        (
            SOCKETS_CLOSED,
            None,
            "Sockets closed by the accept loop, by reason (per_ip, no_request, write_timeout).",
        ),
        (
            PUSHES,
            None,
            "Web Push requests, by outcome (sent, gone, failed).",
        ),
        (
            PUSH_SKIPPED,
            None,
            "Messages that made no push, by reason (online, muted, unsubscribed, dropped).",
        ),
        (
            "banter_build_info",
            None,
            "Always 1; the version is a label.",
        ),
    ];
    for (name, unit, text) in help {
        let key = KeyName::from_const_str(name);
        if name.ends_with("_total") {
            rec.describe_counter(key, unit, text.into());
        } else if unit.is_some() || name == STORE_BATCH_SIZE {
            rec.describe_histogram(key, unit, text.into());
        } else {
            rec.describe_gauge(key, unit, text.into());
        }
    }
    let version = Label::new("version", env!("CARGO_PKG_VERSION"));
    let meta = Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
    rec.register_gauge(&Key::from_parts("banter_build_info", vec![version]), &meta)
        .set(1.0);
}

/// Builds the registry now (it is otherwise built on first use), so `/metrics` lists every
/// metric from the start.
pub fn init() {
    m();
}

/// The Prometheus text exposition of every metric, after setting the scrape-time gauges.
pub fn render(connections: usize, rooms_loaded: usize) -> String {
    let m = m();
    m.connections.set(connections as f64);
    m.rooms_loaded.set(rooms_loaded as f64);
    m.handle.render()
}

/// A message was stored (not a duplicate) through `path`.
pub fn message_stored(path: Path) {
    m().stored[path as usize].increment(1);
}

/// Call before a fan-out: the start time when this one is to be timed.
pub fn fanout_timer() -> Option<Instant> {
    FANOUT_TICK.with(|tick| {
        let n = tick.get().wrapping_add(1);
        tick.set(n);
        (n % FANOUT_SAMPLE_EVERY == 0).then(Instant::now)
    })
}

/// One message was queued to `members` members; `timer` is what [`fanout_timer`] gave before.
pub fn fanout(members: usize, timer: Option<Instant>) {
    let m = m();
    m.deliveries.increment(members as u64);
    if let Some(started) = timer {
        m.fanout.record(started.elapsed().as_secs_f64());
    }
}

/// The server closed a connection for `reason`.
pub fn kicked(reason: Kick) {
    m().kicked[reason as usize].increment(1);
}

/// A join with `since` was answered with a replay; `complete` as in the `replay` frame.
pub fn resume(complete: bool) {
    let m = m();
    if complete {
        m.resumes_complete.increment(1);
    } else {
        m.resumes_incomplete.increment(1);
    }
}

/// A client message was refused with `rate_limited`.
pub fn rate_limited() {
    m().rate_limited.increment(1);
}

/// A WebSocket connection was opened.
pub fn connection_opened() {
    m().opened.increment(1);
}

/// The store made `batch` messages durable in one commit that took `took`.
pub fn store_commit(took: Duration, batch: usize) {
    let m = m();
    m.commit.record(took.as_secs_f64());
    m.batch.record(batch as f64);
}

/// A Redis command or connection failed.
pub fn redis_error() {
    m().redis_errors.increment(1);
}

/// A gap in a room's sequence was filled from Redis.
pub fn redis_gap_fill() {
    m().gap_fills.increment(1);
}

/// The accept loop closed a socket for `reason`.
pub fn socket_closed(reason: SocketClosed) {
    m().sockets_closed[reason as usize].increment(1);
}

/// A Web Push request ended with `outcome`.
pub fn push(outcome: PushOutcome) {
    m().pushes[outcome as usize].increment(1);
}

/// `n` messages made no push, for `reason`.
pub fn push_skipped(reason: PushSkipped, n: u64) {
    m().push_skipped[reason as usize].increment(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_with_its_help() {
        store_commit(Duration::from_millis(2), 7);
        redis_error();
        redis_gap_fill();
        fanout(3, Some(Instant::now()));
        let text = render(5, 2);
        for name in [
            CONNECTIONS,
            ROOMS_LOADED,
            MESSAGES_STORED,
            DELIVERIES,
            KICKED,
            RESUMES,
            RATE_LIMITED,
            CONNECTIONS_OPENED,
            REDIS_ERRORS,
            REDIS_GAP_FILLS,
            SOCKETS_CLOSED,
            PUSHES,
            PUSH_SKIPPED,
        ] {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} in\n{text}"
            );
        }
        for name in [FANOUT_SECONDS, STORE_COMMIT_SECONDS, STORE_BATCH_SIZE] {
            assert!(
                text.contains(&format!("{name}_bucket{{le=")),
                "{name} in\n{text}"
            );
        }
        assert!(text.contains("banter_connections 5\n"), "{text}");
        assert!(text.contains("banter_messages_stored_total{path=\"http\"}"));
    }
}
