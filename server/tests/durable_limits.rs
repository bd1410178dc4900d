//! The durable store at its limits, tested as a user meets it: a real `banter` process on a real
//! SQLite file.
//!
//! - scrollback with `before` from the newest message to seq 1 of a 20,000-message room;
//! - a flood of large posts into busy rooms with a small hot-window budget: memory stays bounded
//!   and every post is stored;
//! - a store that fills up at run time (`--store-max-bytes`): posts over WebSocket and HTTP are
//!   refused with `unavailable`, every acked message is stored and no refused one is, reads go
//!   on, and the log says so once for the burst.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use banter_protocol::{ClientMsg, ServerMsg};
use banter_testkit::{
    Banter, Client, Endpoint, WAIT, all_messages, get_json, message, post, resume,
};
use common::process::{launch, start};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// A `banter` on `data`, its log appended to `log` when given.
async fn start_in(data: &Path, extra: &[&str], log: Option<&Path>) -> Banter {
    let mut launch = launch().unlimited().data_dir(data).args(extra);
    if let Some(log) = log {
        launch = launch.log_to(log);
    }
    launch.start().await.expect("banter started")
}

#[tokio::test]
async fn scrollback_with_before_reaches_the_first_of_20000_messages() {
    let server = start(&[]).await;
    const N: u64 = 20_000;
    let mut c = Client::connect(&server).await;
    c.join("big", "writer").await;
    // In chunks, reading our own messages back (a member that never reads is cut as too slow).
    let mut last = 0;
    for chunk in (1..=N).collect::<Vec<_>>().chunks(500) {
        for i in chunk {
            c.say("big", &format!("line {i}"), None).await;
        }
        while last < *chunk.last().unwrap() {
            if let Some(m) = message(&c.recv().await) {
                last = m.seq;
            }
        }
    }
    let mut before = N + 1;
    let mut seqs = Vec::new();
    let mut pages = 0;
    loop {
        let page = get_json(
            &server,
            &format!("/api/rooms/big/messages?before={before}&limit=1000"),
        )
        .await
        .1;
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
    let server = start(&["--hot-window-bytes", "1000000"]).await;
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 100;
    // A member in every room, reading everything, so every room's hot window fills.
    let mut readers = Vec::new();
    for r in 0..ROOMS {
        let addr = server.addr;
        readers.push(tokio::spawn(async move {
            let mut c = Client::connect(&addr).await;
            c.join(&format!("flood-{r}"), "reader").await;
            let mut last = 0;
            while last < PER_ROOM as u64 {
                if let Some(m) = message(&c.recv().await) {
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
        let page = get_json(
            &server,
            &format!("/api/rooms/flood-{r}/messages?before=1000000&limit=1"),
        )
        .await
        .1;
        assert_eq!(page["messages"][0]["seq"], json!(PER_ROOM), "room {r}");
    }
    // 32 MB of text went through; the windows may hold 1 MB.
    let peak = server.peak_rss_kib();
    assert!(peak < 120 * 1024, "peak RSS {peak} KiB");
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
async fn fill_over_ws(server: SocketAddr, room: &str, id: usize, refusals: usize) -> Outcome {
    let mut c = Client::connect(&server).await;
    c.send(&ClientMsg::Join {
        room: room.into(),
        name: format!("filler-{id}"),
        since: None,
        epoch: None,
        with: None,
    })
    .await;
    c.joined().await;
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
                reply_to: None,
                files: Vec::new(),
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
async fn fill_over_http(server: SocketAddr, room: &str, refusals: usize) -> Outcome {
    let http = reqwest::Client::new();
    let mut out = Outcome::default();
    let deadline = Instant::now() + WAIT;
    let mut next = 0;
    while out.refused.len() < refusals {
        assert!(Instant::now() < deadline, "HTTP: never refused");
        let cid = format!("h-{next}");
        next += 1;
        let res = http
            .post(server.http(&format!("/api/rooms/{room}/messages")))
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
    let seqs: Vec<u64> = msgs.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=msgs.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
    msgs.iter()
        .map(|m| {
            let cid = m.text.split(' ').next().unwrap_or_default().to_owned();
            (cid, m.seq)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_refuses_posts_acks_only_what_is_stored_and_keeps_serving_reads() {
    const LIMIT: &str = "262144"; // 256 KiB: several hundred messages
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("banter.log");
    let server = start_in(data.path(), &["--store-max-bytes", LIMIT], Some(&log)).await;

    // Three WebSocket senders and an HTTP poster fill the store, then meet refusals.
    let mut tasks = Vec::new();
    for id in 0..3 {
        tasks.push(tokio::spawn(fill_over_ws(server.addr, "full", id, 20)));
    }
    tasks.push(tokio::spawn(fill_over_http(server.addr, "full", 10)));
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
    let tail = resume(&server, "full", head - 3, None, 3).await;
    assert_eq!(tail.bracket, ("full".into(), head - 2, head, true));
    assert_eq!(tail.seqs, vec![head - 2, head - 1, head]);

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
    let server = start_in(data.path(), &["--store-max-bytes", "4194304"], None).await;
    let (status, m) = post(
        &server,
        "full",
        json!({"user": "poster", "text": full_text("after"), "client_id": "after"}),
    )
    .await;
    assert_eq!((status, m["seq"].as_u64()), (201, Some(head + 1)));
    assert_eq!(stored_ids(&server, "full").await.len() as u64, head + 1);
}
