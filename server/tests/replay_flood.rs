//! Replay amplification (issue 20, item 1), reproduced against a real `banter` process: a room
//! of 10,000 messages, unloaded by a restart; then 50 sockets each send 40 `join`s with
//! `since: 0` and never read. The server's RSS (from `/proc`) must stay under 400 MB and
//! `/healthz` must answer within 1 s throughout. Before the fix, RSS passed 1.5 GB within
//! seconds (each join replayed the whole room again, encoded in full into one queue slot).
//!
//! `cargo test` runs it against the debug binary; `BANTER_BIN=…/release/banter` against the
//! release build (the figure that matters). Prints the peak RSS (`-- --nocapture`).

mod common;

use std::time::{Duration, Instant};

use banter_protocol::{ClientMsg, ServerMsg};
use common::process::{Proc, scratch};
use common::{Client, WAIT};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

const MESSAGES: u64 = 10_000;
const SOCKETS: usize = 50;
const JOINS: usize = 40;
const RSS_BOUND: u64 = 400 << 20;
/// Past this the server is stopped at once (the unfixed server would take the machine).
const RSS_ABORT: u64 = 1536 << 20;
/// How long the flood is watched after its last join was written.
const WATCH: Duration = Duration::from_secs(8);

fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A server on `dir` with default limits, but for `extra`.
async fn start(dir: &std::path::Path, extra: &[&str]) -> Proc {
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().expect("utf-8 path"),
        "--sqlite-sync",
        "normal",
    ];
    args.extend(extra);
    Proc::start(&args).await
}

/// Fills `room` with [`MESSAGES`] messages of about 200 bytes over one socket.
async fn fill(addr: std::net::SocketAddr, room: &str) {
    let mut c = Client::connect_raw(&format!("ws://{addr}/ws")).await;
    c.recv().await; // welcome
    c.join(room, "filler").await;
    let text = "x".repeat(200);
    let mut sent = 0;
    let mut acked = 0;
    while acked < MESSAGES {
        while sent < MESSAGES && sent - acked < 500 {
            sent += 1;
            c.say(room, &text, Some(&format!("m{sent}"))).await;
        }
        if let ServerMsg::Ack { .. } = c.recv().await {
            acked += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sockets_joining_forty_times_without_reading_cannot_take_the_memory() {
    let dir = scratch("replay-flood");
    let first = start(&dir, &["--rate-per-sec", "0"]).await;
    fill(first.addr, "big").await;
    drop(first); // killed: the restarted server has the room unloaded
    let server = start(&dir, &[]).await;
    let (pid, addr) = (server.pid(), server.addr);
    let base = rss(pid);

    // The flood, on its own tasks; this task watches.
    let flood = tokio::spawn(async move {
        let mut sockets = Vec::new();
        for s in 0..SOCKETS {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                .await
                .expect("connect");
            let join = ClientMsg::Join {
                room: "big".into(),
                name: format!("flood{s}"),
                since: Some(0),
                epoch: None,
                with: None,
            }
            .to_json();
            for _ in 0..JOINS {
                ws.feed(Message::text(join.clone())).await.expect("send");
            }
            ws.flush().await.expect("flush");
            sockets.push(ws); // never read
        }
        sockets
    });
    let http = reqwest::Client::new();
    let health = format!("http://{addr}/healthz");
    let (mut peak, mut slowest, mut unanswered) = (base, Duration::ZERO, 0);
    let mut flood = Some(flood);
    let mut sockets = None;
    let mut watch_until = None;
    loop {
        let now = rss(pid);
        peak = peak.max(now);
        if now > RSS_ABORT {
            break;
        }
        let t0 = Instant::now();
        let answered = http
            .get(&health)
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        slowest = slowest.max(t0.elapsed());
        if !answered.is_ok_and(|r| r.status().is_success()) {
            unanswered += 1;
        }
        if flood.as_ref().is_some_and(|f| f.is_finished()) {
            sockets = Some(flood.take().expect("flood").await.expect("flood task"));
            watch_until = Some(Instant::now() + WATCH);
        }
        if watch_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // polling, not synchronisation
    }
    println!(
        "replay flood: {SOCKETS} sockets x {JOINS} joins of {MESSAGES} messages: RSS {} MB at \
         rest, peak {} MB; slowest /healthz {} ms, {unanswered} not answered within 1 s",
        base >> 20,
        peak >> 20,
        slowest.as_millis()
    );
    assert_eq!(unanswered, 0, "/healthz did not answer within 1 s");
    assert!(
        peak < RSS_BOUND,
        "peak RSS {} MB (bound {} MB)",
        peak >> 20,
        RSS_BOUND >> 20
    );
    drop(sockets);

    // The server still serves: a reader resuming from 0 gets the newest --max-replay messages
    // in order, each once, read from the store a chunk at a time.
    let mut c = Client::connect_raw(&format!("ws://{addr}/ws")).await;
    c.recv().await;
    c.send(&ClientMsg::Join {
        room: "big".into(),
        name: "reader".into(),
        since: Some(0),
        epoch: None,
        with: None,
    })
    .await;
    let bracket = c
        .recv_until(|m| matches!(m, ServerMsg::Replay { .. }))
        .await;
    let (_, from, to, complete) = common::replay_bounds(bracket);
    assert_eq!((from, to, complete), (1, MESSAGES, true));
    let deadline = Instant::now() + WAIT * 6;
    for seq in 1..=MESSAGES {
        assert!(Instant::now() < deadline, "the replay stalled at {seq}");
        // Presence (the flood leaving) may come in between.
        let m = c.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
        assert_eq!(common::message(&m).map(|m| m.seq), Some(seq));
    }
}
