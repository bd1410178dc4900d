//! The durable store, tested as a user meets it: real `banter` processes on real SQLite files,
//! killed with `kill -9` and started again on the same data directory.
//!
//! - a crash while WebSocket senders and an HTTP poster write: every acked message is there
//!   exactly once, `seq` is gap-free and never reused, re-sent messages are acked with their
//!   stored `seq` (several seeds; `DURABLE_SEEDS=n` runs more);
//! - resume across a restart: exact with the same epoch; with `--store memory` a new epoch and
//!   `complete: false`;
//! - idempotency across a restart;
//! - a data directory that cannot be used, or a database from a newer Banter: the server stops
//!   at start and says what to do.
//!
//! What the store does at its limits (a long scrollback, a flood, a full disk) is in
//! `durable_limits.rs`.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use banter_protocol::{ClientMsg, ServerMsg};
use banter_testkit::{Acks, Client, Nodes, Rng, all_messages, get_json, post, resume, seeds};
use common::process::{launch, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn resume_across_a_restart_is_exact_with_the_same_epoch() {
    let mut server = start(&[]).await;
    for i in 1..=5 {
        let m = json!({"user": "bot", "text": format!("m{i}")});
        assert_eq!(post(&server, "lobby", m).await.0, 201);
    }
    let first = resume(&server, "lobby", 0, None, 5).await;
    assert_eq!(first.seqs, [1, 2, 3, 4, 5]);
    server.kill9();

    server.restart().await.expect("restarted");
    for i in 6..=12 {
        let m = json!({"user": "bot", "text": format!("m{i}")});
        assert_eq!(post(&server, "lobby", m).await.0, 201);
    }
    let epoch = first.epoch;
    let again = resume(&server, "lobby", 5, Some(epoch.clone()), 7).await;
    assert_eq!(again.epoch, epoch, "the same store keeps its epoch");
    assert_eq!(again.bracket, ("lobby".into(), 6, 12, true));
    assert_eq!(again.seqs, (6..=12).collect::<Vec<_>>());
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    assert_eq!(page["epoch"], json!(epoch));
    assert_eq!(page["messages"][0]["text"], "m1");
}

#[tokio::test]
async fn a_memory_store_restart_is_a_new_epoch_and_the_client_is_told() {
    let mut server = start(&["--store", "memory"]).await;
    for i in 1..=5 {
        let m = json!({"user": "bot", "text": format!("old {i}")});
        assert_eq!(post(&server, "lobby", m).await.0, 201);
    }
    let epoch = resume(&server, "lobby", 0, None, 5).await.epoch;
    server.kill9();

    server.restart().await.expect("restarted");
    for i in 1..=7 {
        let m = json!({"user": "bot", "text": format!("new {i}")});
        assert_eq!(post(&server, "lobby", m).await.0, 201);
    }
    // The client saw 1..5 of the old life: it is told that life is gone and gets all held.
    let now = resume(&server, "lobby", 5, Some(epoch.clone()), 7).await;
    assert_ne!(now.epoch, epoch);
    assert_eq!(now.bracket, ("lobby".into(), 1, 7, false));
    assert_eq!(now.seqs, (1..=7).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_id_resent_after_a_restart_is_acked_with_its_seq_and_stored_once() {
    let mut server = start(&[]).await;
    post(&server, "ops", json!({"user": "ci", "text": "before"})).await;
    let deploy = json!({"user": "ci", "text": "deploy", "client_id": "d-1"});
    let (status, m) = post(&server, "ops", deploy.clone()).await;
    assert_eq!((status, m["seq"].as_u64()), (201, Some(2)));
    server.kill9();

    server.restart().await.expect("restarted");
    let (status, again) = post(&server, "ops", deploy).await;
    assert_eq!((status, again["seq"].as_u64()), (200, Some(2)));
    assert_eq!(again["id"], m["id"]);
    // Over WebSocket too: the ack carries the stored seq.
    let mut c = Client::connect(&server).await;
    c.join("ops", "ci").await;
    c.say("ops", "deploy", Some("d-1")).await;
    let ack = c.recv_until(|m| matches!(m, ServerMsg::Ack { .. })).await;
    assert!(matches!(ack, ServerMsg::Ack { seq: 2, .. }), "{ack:?}");
    assert_eq!(all_messages(&server, "ops").await.len(), 2);
}

/// Reconnects to whatever node is up, re-sends everything not acked with its client_id, until
/// all `count` are acked.
async fn ws_sender(up: Nodes, acks: Acks, id: usize, count: usize) {
    let ids: Vec<String> = (0..count).map(|i| format!("w{id}-{i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rng = Rng(id as u64);
    loop {
        let pending: Vec<String> = ids.iter().filter(|c| !acks.contains(c)).cloned().collect();
        if pending.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "sender {id} never finished");
        let target = up.pick(&mut rng);
        let _ = ws_round(&format!("ws://{target}/ws"), &acks, id, &pending).await;
    }
}

/// One connection's worth of sending; any error ends it (the caller reconnects).
async fn ws_round(url: &str, acks: &Acks, id: usize, pending: &[String]) -> Result<(), String> {
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
                reply_to: None,
                files: Vec::new(),
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
                Ok(ServerMsg::Ack { client_id, seq, .. }) if acks.record(&client_id, seq) => {
                    waiting -= 1;
                }
                Ok(ServerMsg::Error { .. }) => return Err("refused".into()),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Posts `count` messages over HTTP through whatever node is up, each re-sent until stored.
async fn http_sender(up: Nodes, acks: Acks, count: usize) {
    let mut rng = Rng(0);
    for i in 0..count {
        let cid = format!("h-{i}");
        let text = format!("from {cid}");
        acks.post_until_stored(&up, &mut rng, "chaos", "http", &cid, &text)
            .await;
    }
}

async fn kill9_chaos(seed: u64) {
    const WS_SENDERS: usize = 4;
    const PER_SENDER: usize = 250;
    const HTTP_POSTS: usize = 150;
    let total = WS_SENDERS * PER_SENDER + HTTP_POSTS;
    let mut node = start(&[]).await;
    let up = Nodes::new([&node]);
    let acks = Acks::default();
    let mut tasks = Vec::new();
    for id in 0..WS_SENDERS {
        let sender = ws_sender(up.clone(), acks.clone(), id, PER_SENDER);
        tasks.push(tokio::spawn(sender));
    }
    tasks.push(tokio::spawn(http_sender(
        up.clone(),
        acks.clone(),
        HTTP_POSTS,
    )));

    // Crash once a seed-chosen share of the messages is acked, then start again on the same
    // data directory.
    acks.wait_for(100 + (seed % 700) as usize).await;
    let before_crash = acks.snapshot();
    let was = node.addr;
    node.kill9();
    node.restart().await.expect("restarted");
    up.replace(was, node.addr);
    for t in tasks {
        t.await.expect("a sender failed");
    }

    let msgs = all_messages(&node, "chaos").await;
    let seqs: Vec<u64> = msgs.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "seed {seed}: gap-free, once each"
    );
    let by_seq: HashMap<u64, &str> = msgs.iter().map(|m| (m.seq, m.text.as_str())).collect();
    let acked = acks.snapshot();
    assert_eq!(acked.len(), total);
    for (cid, seq) in &acked {
        assert_eq!(
            by_seq[seq],
            format!("from {cid}"),
            "seed {seed}: seq {seq} reused"
        );
    }
    for (cid, seq) in &before_crash {
        assert_eq!(
            acked[cid], *seq,
            "seed {seed}: acked before the crash, kept after"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_writing_loses_no_acked_message_and_reuses_no_seq() {
    for seed in seeds("kill -9 chaos", "DURABLE_SEEDS", 3, 0x5EED) {
        kill9_chaos(seed).await;
    }
}

/// Runs `banter` with `args` expecting it to stop at start; returns its stderr.
fn start_fails(data: &Path, extra: &[&str]) -> String {
    let out = launch()
        .data_dir(data)
        .args(extra)
        .env("RUST_LOG", Some("off"))
        .command()
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
