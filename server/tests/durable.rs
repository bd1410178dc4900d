//! The durable store, tested as a user meets it: real `banter` processes on real SQLite files,
//! killed with `kill -9` and started again on the same data directory.
//!
//! - a crash while WebSocket senders and an HTTP poster write: every acked message is there
//!   exactly once, `seq` is gap-free and never reused, re-sent messages are acked with their
//!   stored `seq` (several seeds; `DURABLE_SEEDS=n` runs more);
//! - resume across a restart: exact with the same epoch; with `--store memory` a new epoch and
//!   `complete: false`;
//! - idempotency across a restart;
//! - scrollback with `before` from the newest message to seq 1 of a 20,000-message room;
//! - a flood of large posts into busy rooms with a small hot-window budget: memory stays bounded
//!   and every post is stored.
//! - a store that fills up at run time (`--store-max-bytes`): posts over WebSocket and HTTP are
//!   refused with `unavailable`, every acked message is stored and no refused one is, reads go
//!   on, and the log says so once for the burst.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use banter_protocol::{ClientMsg, ServerMsg};
use common::{Client, replay_bounds};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

/// A `banter` process. Killed (SIGKILL) on drop.
struct Banter {
    child: Child,
    addr: SocketAddr,
}

impl Banter {
    /// Starts the binary on a free port with `data` as its data directory; waits for /healthz.
    async fn start(data: &Path, extra: &[&str]) -> Banter {
        Banter::start_logging(data, extra, None).await
    }

    /// [`Banter::start`], with its log (stderr) appended to `log` when given.
    async fn start_logging(data: &Path, extra: &[&str], log: Option<&Path>) -> Banter {
        for _ in 0..5 {
            let stderr = match log {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .expect("open the log file"),
                ),
                None => Stdio::inherit(),
            };
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let mut child = Command::new(env!("CARGO_BIN_EXE_banter"))
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(data)
                .args(["--rate-per-sec", "0", "--http-rate-per-sec", "0"])
                .args(extra)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("start banter");
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                if let Ok(r) = reqwest::get(format!("http://{addr}/healthz")).await
                    && r.status().is_success()
                {
                    return Banter { child, addr };
                }
                tokio::time::sleep(Duration::from_millis(20)).await; // polling interval
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("banter did not start");
    }

    fn ws(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `kill -9`: no shutdown, no flush.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Peak resident memory (VmHWM) of the process, in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Banter {
    fn drop(&mut self) {
        self.kill9();
    }
}

async fn post(base: &Banter, room: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(base.http(&format!("/api/rooms/{room}/messages")))
        .json(&body)
        .send()
        .await
        .expect("post");
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn get(base: &Banter, path: &str) -> Value {
    reqwest::get(base.http(path))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// Every message of `room`, paging forward with `since`.
async fn all_messages(base: &Banter, room: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let since = out.last().map_or(0, |m| m["seq"].as_u64().unwrap_or(0));
        let page = get(
            base,
            &format!("/api/rooms/{room}/messages?since={since}&limit=1000"),
        )
        .await;
        let msgs = page["messages"].as_array().cloned().unwrap_or_default();
        if msgs.is_empty() {
            return out;
        }
        out.extend(msgs);
    }
}

async fn joined_epoch(c: &mut Client) -> (u64, String) {
    match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await
    {
        ServerMsg::Joined { head, epoch, .. } => (head, epoch),
        _ => unreachable!(),
    }
}

fn seqs_of(frames: &[ServerMsg]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|m| common::message(m).map(|m| m.seq))
        .collect()
}

/// Joins `room` with `since`/`epoch`; returns the epoch in `joined`, the replay bracket and the
/// replayed seqs.
async fn resume(
    url: &str,
    room: &str,
    since: u64,
    epoch: Option<String>,
    expect: usize,
) -> (String, (String, u64, u64, bool), Vec<u64>) {
    let mut c = Client::connect_raw(url).await;
    c.recv().await; // welcome
    c.send(&ClientMsg::Join {
        room: room.into(),
        name: "reader".into(),
        since: Some(since),
        epoch,
        with: None,
    })
    .await;
    let (_, epoch) = joined_epoch(&mut c).await;
    let bracket = replay_bounds(c.recv().await);
    let mut frames = Vec::new();
    for _ in 0..expect {
        frames.push(c.recv().await);
    }
    (epoch, bracket, seqs_of(&frames))
}

#[tokio::test]
async fn resume_across_a_restart_is_exact_with_the_same_epoch() {
    let data = tempfile::tempdir().unwrap();
    let mut first = Banter::start(data.path(), &[]).await;
    for i in 1..=5 {
        post(
            &first,
            "lobby",
            json!({"user": "bot", "text": format!("m{i}")}),
        )
        .await;
    }
    let (epoch, _, seen) = resume(&first.ws(), "lobby", 0, None, 5).await;
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    first.kill9();

    let second = Banter::start(data.path(), &[]).await;
    for i in 6..=12 {
        post(
            &second,
            "lobby",
            json!({"user": "bot", "text": format!("m{i}")}),
        )
        .await;
    }
    let (again, bracket, seqs) = resume(&second.ws(), "lobby", 5, Some(epoch.clone()), 7).await;
    assert_eq!(again, epoch, "the same store keeps its epoch");
    assert_eq!(bracket, ("lobby".into(), 6, 12, true));
    assert_eq!(seqs, (6..=12).collect::<Vec<_>>());
    let page = get(&second, "/api/rooms/lobby/messages?since=0").await;
    assert_eq!(page["epoch"], json!(epoch));
    assert_eq!(page["messages"][0]["text"], "m1");
}

#[tokio::test]
async fn a_memory_store_restart_is_a_new_epoch_and_the_client_is_told() {
    let data = tempfile::tempdir().unwrap();
    let mut first = Banter::start(data.path(), &["--store", "memory"]).await;
    for i in 1..=5 {
        post(
            &first,
            "lobby",
            json!({"user": "bot", "text": format!("old {i}")}),
        )
        .await;
    }
    let (epoch, _, _) = resume(&first.ws(), "lobby", 0, None, 5).await;
    first.kill9();

    let second = Banter::start(data.path(), &["--store", "memory"]).await;
    for i in 1..=7 {
        post(
            &second,
            "lobby",
            json!({"user": "bot", "text": format!("new {i}")}),
        )
        .await;
    }
    // The client saw 1..5 of the old life: it is told that life is gone and gets all held.
    let (now, bracket, seqs) = resume(&second.ws(), "lobby", 5, Some(epoch.clone()), 7).await;
    assert_ne!(now, epoch);
    assert_eq!(bracket, ("lobby".into(), 1, 7, false));
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_id_resent_after_a_restart_is_acked_with_its_seq_and_stored_once() {
    let data = tempfile::tempdir().unwrap();
    let mut first = Banter::start(data.path(), &[]).await;
    post(&first, "ops", json!({"user": "ci", "text": "before"})).await;
    let (status, m) = post(
        &first,
        "ops",
        json!({"user": "ci", "text": "deploy", "client_id": "d-1"}),
    )
    .await;
    assert_eq!((status, m["seq"].as_u64()), (201, Some(2)));
    first.kill9();

    let second = Banter::start(data.path(), &[]).await;
    let (status, again) = post(
        &second,
        "ops",
        json!({"user": "ci", "text": "deploy", "client_id": "d-1"}),
    )
    .await;
    assert_eq!((status, again["seq"].as_u64()), (200, Some(2)));
    assert_eq!(again["id"], m["id"]);
    // Over WebSocket too: the ack carries the stored seq.
    let mut c = Client::connect_raw(&second.ws()).await;
    c.recv().await;
    c.join("ops", "ci").await;
    c.say("ops", "deploy", Some("d-1")).await;
    let ack = c.recv_until(|m| matches!(m, ServerMsg::Ack { .. })).await;
    assert!(matches!(ack, ServerMsg::Ack { seq: 2, .. }), "{ack:?}");
    assert_eq!(all_messages(&second, "ops").await.len(), 2);
}

#[tokio::test]
async fn scrollback_with_before_reaches_the_first_of_20000_messages() {
    let data = tempfile::tempdir().unwrap();
    let server = Banter::start(data.path(), &[]).await;
    const N: u64 = 20_000;
    let mut c = Client::connect_raw(&server.ws()).await;
    c.recv().await;
    c.join("big", "writer").await;
    // In chunks, reading our own messages back (a member that never reads is cut as too slow).
    let mut last = 0;
    for chunk in (1..=N).collect::<Vec<_>>().chunks(500) {
        for i in chunk {
            c.say("big", &format!("line {i}"), None).await;
        }
        while last < *chunk.last().unwrap() {
            if let Some(m) = common::message(&c.recv().await) {
                last = m.seq;
            }
        }
    }
    let mut before = N + 1;
    let mut seqs = Vec::new();
    let mut pages = 0;
    loop {
        let page = get(
            &server,
            &format!("/api/rooms/big/messages?before={before}&limit=1000"),
        )
        .await;
        let msgs = page["messages"].as_array().cloned().unwrap_or_default();
        pages += 1;
        seqs.splice(0..0, msgs.iter().filter_map(|m| m["seq"].as_u64()));
        if page["complete"] == json!(true) {
            break;
        }
        before = msgs[0]["seq"].as_u64().unwrap();
        assert!(pages <= 25, "scrollback does not end");
    }
    assert_eq!(seqs, (1..=N).collect::<Vec<_>>());
    assert_eq!(pages, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_large_posts_keeps_memory_bounded_and_stores_every_post() {
    let data = tempfile::tempdir().unwrap();
    let server = Banter::start(data.path(), &["--hot-window-bytes", "1000000"]).await;
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 100;
    // A member in every room, reading everything, so every room's hot window fills.
    let mut readers = Vec::new();
    for r in 0..ROOMS {
        let url = server.ws();
        readers.push(tokio::spawn(async move {
            let mut c = Client::connect_raw(&url).await;
            c.recv().await;
            c.join(&format!("flood-{r}"), "reader").await;
            let mut last = 0;
            while last < PER_ROOM as u64 {
                if let Some(m) = common::message(&c.recv().await) {
                    last = m.seq;
                }
            }
        }));
    }
    let text = "😀".repeat(4000); // 16 KB of UTF-8, the longest text allowed
    let http = reqwest::Client::new();
    let posts = futures_util::stream::iter(0..ROOMS * PER_ROOM)
        .map(|i| {
            let (http, text, url) = (
                http.clone(),
                text.clone(),
                server.http(&format!("/api/rooms/flood-{}/messages", i % ROOMS)),
            );
            async move {
                let r = http
                    .post(url)
                    .json(&json!({"user": "flood", "text": text}))
                    .send()
                    .await
                    .expect("post");
                r.status().as_u16()
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<u16>>()
        .await;
    assert!(posts.iter().all(|s| *s == 201), "every post stored");
    for r in readers {
        tokio::time::timeout(WAIT, r)
            .await
            .expect("every reader got every message")
            .unwrap();
    }
    for r in 0..ROOMS {
        let page = get(
            &server,
            &format!("/api/rooms/flood-{r}/messages?before=1000000&limit=1"),
        )
        .await;
        assert_eq!(page["messages"][0]["seq"], json!(PER_ROOM), "room {r}");
    }
    // 32 MB of text went through; the windows may hold 1 MB.
    let peak = server.peak_rss_kib();
    assert!(peak < 120 * 1024, "peak RSS {peak} KiB");
}

/// What one chaos run saw.
#[derive(Default)]
struct Ledger {
    /// client_id -> seq, from acks (WebSocket) and 201/200 answers (HTTP).
    acked: HashMap<String, u64>,
}

/// Reconnects to whatever node is current, re-sends everything not acked with its client_id,
/// until all `count` are acked.
async fn ws_sender(url: Arc<Mutex<String>>, ledger: Arc<Mutex<Ledger>>, id: usize, count: usize) {
    let ids: Vec<String> = (0..count).map(|i| format!("w{id}-{i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: Vec<String> = {
            let l = ledger.lock().unwrap();
            ids.iter()
                .filter(|c| !l.acked.contains_key(*c))
                .cloned()
                .collect()
        };
        if pending.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "sender {id} never finished");
        let target = url.lock().unwrap().clone();
        let _ = ws_round(&target, &ledger, id, &pending).await;
    }
}

/// One connection's worth of sending; any error ends it (the caller reconnects).
async fn ws_round(
    url: &str,
    ledger: &Arc<Mutex<Ledger>>,
    id: usize,
    pending: &[String],
) -> Result<(), String> {
    let connect = tokio_tungstenite::connect_async(url);
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| "connect timeout")?
        .map_err(|e| e.to_string())?;
    let join = ClientMsg::Join {
        room: "chaos".into(),
        name: format!("sender-{id}"),
        since: None,
        epoch: None,
        with: None,
    };
    ws.send(Message::text(join.to_json()))
        .await
        .map_err(|e| e.to_string())?;
    for chunk in pending.chunks(20) {
        for cid in chunk {
            let send = ClientMsg::Send {
                room: "chaos".into(),
                text: format!("from {cid}"),
                client_id: Some(cid.clone()),
            };
            ws.send(Message::text(send.to_json()))
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut waiting = chunk.len();
        while waiting > 0 {
            let frame = tokio::time::timeout(Duration::from_secs(2), ws.next())
                .await
                .map_err(|_| "ack timeout")?
                .ok_or("closed")?
                .map_err(|e| e.to_string())?;
            let Message::Text(t) = frame else { continue };
            match serde_json::from_str::<ServerMsg>(&t) {
                Ok(ServerMsg::Ack { client_id, seq, .. }) if record(ledger, &client_id, seq) => {
                    waiting -= 1;
                }
                Ok(ServerMsg::Error { .. }) => return Err("refused".into()),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Records an ack; panics if the same client_id was acked with two seqs. `true` if new.
fn record(ledger: &Arc<Mutex<Ledger>>, client_id: &str, seq: u64) -> bool {
    let mut l = ledger.lock().unwrap();
    match l.acked.get(client_id) {
        Some(&before) => {
            assert_eq!(before, seq, "{client_id} acked as {before}, then as {seq}");
            false
        }
        None => {
            l.acked.insert(client_id.to_owned(), seq);
            true
        }
    }
}

async fn http_sender(url: Arc<Mutex<String>>, ledger: Arc<Mutex<Ledger>>, count: usize) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..count {
        let cid = format!("h-{i}");
        loop {
            assert!(Instant::now() < deadline, "the HTTP sender never finished");
            let base = url
                .lock()
                .unwrap()
                .replace("ws://", "http://")
                .replace("/ws", "");
            let res = http
                .post(format!("{base}/api/rooms/chaos/messages"))
                .json(&json!({"user": "http", "text": format!("from {cid}"), "client_id": cid}))
                .send()
                .await;
            if let Ok(r) = res
                && r.status().is_success()
                && let Ok(m) = r.json::<Value>().await
                && let Some(seq) = m["seq"].as_u64()
            {
                record(&ledger, &cid, seq);
                break;
            }
        }
    }
}

async fn kill9_chaos(seed: u64) {
    const WS_SENDERS: usize = 4;
    const PER_SENDER: usize = 250;
    const HTTP_POSTS: usize = 150;
    let total = WS_SENDERS * PER_SENDER + HTTP_POSTS;
    let data = tempfile::tempdir().unwrap();
    let mut node = Banter::start(data.path(), &[]).await;
    let url = Arc::new(Mutex::new(node.ws()));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = Vec::new();
    for id in 0..WS_SENDERS {
        tasks.push(tokio::spawn(ws_sender(
            url.clone(),
            ledger.clone(),
            id,
            PER_SENDER,
        )));
    }
    tasks.push(tokio::spawn(http_sender(
        url.clone(),
        ledger.clone(),
        HTTP_POSTS,
    )));

    // Crash once a seed-chosen share of the messages is acked, then start again on the same
    // data directory (another port, as after a real restart).
    let kill_at = 100 + (seed % 700) as usize;
    let deadline = Instant::now() + WAIT;
    while ledger.lock().unwrap().acked.len() < kill_at {
        assert!(Instant::now() < deadline, "too slow before the crash");
        tokio::time::sleep(Duration::from_millis(5)).await; // polling interval
    }
    let before_crash: HashMap<String, u64> = ledger.lock().unwrap().acked.clone();
    node.kill9();
    let node = Banter::start(data.path(), &[]).await;
    *url.lock().unwrap() = node.ws();
    for t in tasks {
        t.await.expect("a sender failed");
    }

    let msgs = all_messages(&node, "chaos").await;
    let seqs: Vec<u64> = msgs.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "seed {seed}: gap-free, once each"
    );
    let by_seq: HashMap<u64, String> = msgs
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let ledger = ledger.lock().unwrap();
    assert_eq!(ledger.acked.len(), total);
    for (cid, seq) in &ledger.acked {
        assert_eq!(
            by_seq[seq],
            format!("from {cid}"),
            "seed {seed}: seq {seq} reused"
        );
    }
    for (cid, seq) in &before_crash {
        assert_eq!(
            ledger.acked[cid], *seq,
            "seed {seed}: acked before the crash, kept after"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_writing_loses_no_acked_message_and_reuses_no_seq() {
    let runs: u64 = std::env::var("DURABLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let base: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED);
    for i in 0..runs {
        let seed = base.wrapping_add(i * 7_777_777);
        eprintln!("kill -9 chaos, seed {seed} (CHAOS_SEED={base}, run {i})");
        kill9_chaos(seed).await;
    }
}

/// Runs `banter` with `args` expecting it to stop at start; returns its stderr.
fn start_fails(data: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_banter"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .expect("run banter");
    assert!(!out.status.success(), "banter should refuse to start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_data_dir_that_cannot_be_used_stops_the_server_with_what_to_do() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let err = start_fails(&file, &[]);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("cannot create the data directory"), "{err}");
    assert!(err.contains("--data-dir"), "says what to do: {err}");
}

#[test]
fn a_database_from_a_newer_banter_is_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let db = rusqlite::Connection::open(data.path().join("banter.db")).unwrap();
    db.pragma_update(None, "user_version", 99).unwrap();
    drop(db);
    let err = start_fails(data.path(), &[]);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("newer Banter"), "{err}");
    assert!(err.contains("upgrade banter"), "says what to do: {err}");
}

/// What the writers into a full store were told.
#[derive(Default)]
struct Outcome {
    /// client_id -> seq, from acks (WebSocket) and 201 answers (HTTP).
    acked: HashMap<String, u64>,
    /// client_ids refused with `unavailable` (WebSocket `error`, HTTP 503).
    refused: Vec<String>,
}

/// A text of about 200 bytes that starts with its client_id.
fn full_text(cid: &str) -> String {
    format!("{cid} {}", "x".repeat(200))
}

/// Sends messages with client_ids into `room`, ten at a time, until `refusals` of them were
/// refused; records every answer.
async fn fill_over_ws(url: String, room: &str, id: usize, refusals: usize) -> Outcome {
    let mut c = Client::connect_raw(&url).await;
    c.recv().await; // welcome
    c.send(&ClientMsg::Join {
        room: room.into(),
        name: format!("filler-{id}"),
        since: None,
        epoch: None,
        with: None,
    })
    .await;
    joined_epoch(&mut c).await;
    let mut out = Outcome::default();
    let deadline = Instant::now() + WAIT;
    let mut next = 0;
    while out.refused.len() < refusals {
        assert!(Instant::now() < deadline, "filler {id}: never refused");
        for _ in 0..10 {
            let cid = format!("w{id}-{next}");
            next += 1;
            c.send(&ClientMsg::Send {
                room: room.into(),
                text: full_text(&cid),
                client_id: Some(cid),
            })
            .await;
        }
        let mut answers = 0;
        while answers < 10 {
            match c.recv().await {
                ServerMsg::Ack { client_id, seq, .. } => {
                    assert!(out.acked.insert(client_id, seq).is_none(), "acked twice");
                    answers += 1;
                }
                ServerMsg::Error {
                    code,
                    message,
                    client_id: Some(cid),
                } => {
                    assert_eq!(code, banter_protocol::ErrorCode::Unavailable, "{message}");
                    assert!(message.contains("full"), "says why: {message}");
                    out.refused.push(cid);
                    answers += 1;
                }
                e @ ServerMsg::Error { .. } => panic!("filler {id}: {e:?}"),
                _ => {} // its own message echoed, presence of the others
            }
        }
    }
    out
}

/// Posts messages with client_ids over HTTP until `refusals` were refused.
async fn fill_over_http(base: String, room: &str, refusals: usize) -> Outcome {
    let http = reqwest::Client::new();
    let mut out = Outcome::default();
    let deadline = Instant::now() + WAIT;
    let mut next = 0;
    while out.refused.len() < refusals {
        assert!(Instant::now() < deadline, "HTTP: never refused");
        let cid = format!("h-{next}");
        next += 1;
        let res = http
            .post(format!("{base}/api/rooms/{room}/messages"))
            .json(&json!({"user": "poster", "text": full_text(&cid), "client_id": cid}))
            .send()
            .await
            .expect("post");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("a JSON answer");
        match status {
            201 => {
                let seq = body["seq"].as_u64().expect("a seq");
                assert!(out.acked.insert(cid, seq).is_none(), "acked twice");
            }
            503 => {
                assert_eq!(body["code"], "unavailable", "{body}");
                assert!(
                    body["message"].as_str().unwrap_or("").contains("full"),
                    "{body}"
                );
                out.refused.push(cid);
            }
            _ => panic!("HTTP post answered {status}: {body}"),
        }
    }
    out
}

/// Every stored message of `room` as `client_id -> seq`; asserts `seq` is gap-free.
async fn stored_ids(server: &Banter, room: &str) -> HashMap<String, u64> {
    let msgs = all_messages(server, room).await;
    let seqs: Vec<u64> = msgs.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert_eq!(
        seqs,
        (1..=msgs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
    msgs.iter()
        .map(|m| {
            let text = m["text"].as_str().expect("a text");
            let cid = text.split(' ').next().unwrap_or_default().to_owned();
            (cid, m["seq"].as_u64().expect("a seq"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_refuses_posts_acks_only_what_is_stored_and_keeps_serving_reads() {
    const LIMIT: &str = "262144"; // 256 KiB: several hundred messages
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("banter.log");
    let server =
        Banter::start_logging(data.path(), &["--store-max-bytes", LIMIT], Some(&log)).await;

    // Three WebSocket senders and an HTTP poster fill the store, then meet refusals.
    let mut tasks = Vec::new();
    for id in 0..3 {
        tasks.push(tokio::spawn(fill_over_ws(server.ws(), "full", id, 20)));
    }
    tasks.push(tokio::spawn(fill_over_http(server.http(""), "full", 10)));
    let mut told = Outcome::default();
    for t in tasks {
        let o = t.await.expect("a writer failed");
        told.acked.extend(o.acked);
        told.refused.extend(o.refused);
    }
    assert!(told.acked.len() >= 100, "stored {} first", told.acked.len());

    // The server is up and serves reads: history holds exactly what was acked, at its seq.
    assert!(
        reqwest::get(server.http("/healthz"))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let stored = stored_ids(&server, "full").await;
    assert_eq!(
        stored, told.acked,
        "every acked message is stored, at its seq"
    );
    for cid in &told.refused {
        assert!(!stored.contains_key(cid), "{cid} was refused, yet stored");
    }
    let head = stored.len() as u64;
    let (_, (_, from, to, complete), seqs) = resume(&server.ws(), "full", head - 3, None, 3).await;
    assert_eq!((from, to, complete), (head - 2, head, true));
    assert_eq!(seqs, vec![head - 2, head - 1, head]);

    // Logged once for the burst, not once per refused message.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines = text.matches("the store is full").count();
    assert!(
        (1..=2).contains(&lines),
        "{lines} log lines for {} refusals:\n{text}",
        told.refused.len()
    );

    // With room again (a higher limit), posting resumes after the last acked seq.
    drop(server);
    let server = Banter::start(data.path(), &["--store-max-bytes", "4194304"]).await;
    let (status, m) = post(
        &server,
        "full",
        json!({"user": "poster", "text": full_text("after"), "client_id": "after"}),
    )
    .await;
    assert_eq!((status, m["seq"].as_u64()), (201, Some(head + 1)));
    assert_eq!(stored_ids(&server, "full").await.len() as u64, head + 1);
}
