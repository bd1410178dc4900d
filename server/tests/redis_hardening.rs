//! What a Redis restart, or many reads, can do to a cluster, and rooms sharded over several
//! Redis, tested against real `redis-server`s and real `banter` nodes:
//!
//! - Redis restarted from an older RDB snapshot (taken at 100 after members saw 1..120): no
//!   `seq` a client saw is reused under the epoch it saw it in; a member present through it is
//!   closed with 4000, and a client resuming from 120 with its epoch is told `complete: false`,
//!   whether or not a node had the room loaded;
//! - a failover to a replica (promoted with `REPLICAOF NO ONE`), even one fsyncing every write,
//!   is a new epoch: it may not have received the last writes;
//! - reads write nothing: 2,000 `GET`s and 500 WebSocket join/leave of rooms that never had a
//!   message leave Redis with the keys it had;
//! - `--redis A,B`: rooms spread over both, each room on one; members on another node see
//!   every room's 1..N in order, the room list holds the rooms of both.

mod common;

use banter_protocol::ServerMsg;
use banter_testkit::{Banter, Persistence, Redis, post_stored, resume, wait_until};
use common::process::{node, node_on};
use common::{Client, Endpoint, get_json};
use serde_json::{Value, json};

/// Posts `text` to `room` as `bot` until it is stored (Redis may be coming back).
async fn post(n: &Banter, room: &str, text: &str) -> Value {
    post_stored(n, room, json!({"user": "bot", "text": text})).await
}

/// `GET …/messages?since=`: the page, with its epoch.
async fn page(n: &Banter, room: &str, since: u64) -> Value {
    let path = format!("/api/rooms/{room}/messages?since={since}&limit=1000");
    let (status, page) = get_json(n, &path).await;
    assert_eq!(status, 200, "GET {path}: {page}");
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_back_from_an_older_snapshot_never_reuses_a_seq_a_client_saw_in_its_epoch() {
    let mut redis = Redis::start(Persistence::Off);
    let (a, b) = (node(&redis, &[]).await, node(&redis, &[]).await);
    // `hot` has a member on b through it all; `cold` is loaded by no node at the restart.
    let mut member = Client::connect(&b).await;
    member.join("hot", "member").await;
    for i in 1..=120u64 {
        if i == 101 {
            redis.save();
        }
        for room in ["hot", "cold"] {
            assert_eq!(post(&a, room, &format!("{room} old {i}")).await["seq"], i);
        }
    }
    let mut saw = Vec::new();
    while saw.len() < 120 {
        if let ServerMsg::Message(m) = member.recv().await {
            saw.push(m);
        }
    }
    assert_eq!(saw.last().map(|m| m.seq), Some(120));
    let hot = page(&b, "hot", 0).await;
    let cold = page(&a, "cold", 0).await;
    let (hot_epoch, cold_epoch) = (hot["epoch"].clone(), cold["epoch"].clone());
    let (hot_epoch, cold_epoch) = (hot_epoch.as_str().unwrap(), cold_epoch.as_str().unwrap());

    // Redis dies and comes back from the snapshot: it holds 1..100 of each room.
    redis.restart();
    let head: Option<u64> = redis
        .cmd(redis::cmd("GET").arg("banter:r:{hot}:seq"))
        .expect("GET");
    assert_eq!(head, Some(100), "the snapshot was taken at 100");

    // The member present through it is told to resume (4000).
    assert_eq!(member.expect_close().await, 4000);
    // Twenty new posts to each room: stored, but never as 101..120 of the epoch seen.
    for i in 1..=20u64 {
        for room in ["hot", "cold"] {
            post(&a, room, &format!("{room} new {i}")).await;
        }
    }
    for (room, seen) in [("hot", hot_epoch), ("cold", cold_epoch)] {
        for p in [&a, &b] {
            let now = page(p, room, 100).await;
            assert_ne!(now["epoch"], seen, "{room}: a new epoch after the rollback");
            let texts: Vec<&str> = now["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| m["text"].as_str().unwrap_or_default())
                .collect();
            assert_eq!(texts.len(), 20);
            assert!(texts.iter().all(|t| t.contains(" new ")), "{texts:?}");
        }
        // A client that saw 1..120 resumes, on either node: told, and given everything held.
        for p in [&a, &b] {
            let resumed = resume(p, room, 120, Some(seen.to_owned()), 0).await;
            assert_ne!(resumed.epoch, seen, "{room}");
            let (_, from, to, complete) = resumed.bracket;
            assert_eq!((from, to, complete), (1, 120, false), "{room}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_rooms_without_messages_leave_no_key_in_redis() {
    let redis = Redis::start(Persistence::Off);
    // The files sweep's turn (a key that lives one `--file-sweep`) is taken at start: an hour
    // keeps it from expiring, or coming back, while the test runs.
    let n = node(&redis, &["--file-sweep", "1h"]).await;
    let keys = || -> Vec<String> {
        let mut k: Vec<String> = redis.cmd(redis::cmd("KEYS").arg("*")).expect("KEYS");
        k.sort();
        k
    };
    // The node's own keys (its heartbeat, the life of the data, the sweep's turn) are there
    // once it serves and has swept.
    wait_until(
        "the node wrote its heartbeat and took its sweep turn",
        || {
            let k = keys();
            k.iter().any(|k| k.starts_with("banter:node:"))
                && k.iter().any(|k| k == "banter:files:sweep")
        },
    )
    .await;
    let before = keys();
    let client = reqwest::Client::new();
    for i in 0..2_000 {
        let path = match i % 2 {
            0 => format!("/api/rooms/empty-{i}/messages?since=0"),
            _ => format!("/api/rooms/empty-{i}/messages?before=10"),
        };
        let res = client.get(n.http(&path)).send().await.expect("get");
        assert_eq!(res.status().as_u16(), 200);
    }
    let mut c = Client::connect(&n).await;
    for i in 0..500 {
        let room = format!("joined-{i}");
        match c.try_join(&room, "ann").await {
            ServerMsg::Joined { .. } => {}
            other => panic!("join {i} refused: {other:?}"),
        }
        c.send(&banter_protocol::ClientMsg::Leave { room }).await;
    }
    drop(c);
    // Presence written on join is taken back on leave: wait for the writes to land.
    wait_until("2,500 reads left no key behind", || keys() == before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_sharded_over_two_redis_keep_one_order_each_and_list_together() {
    let (r1, r2) = (
        Redis::start(Persistence::Off),
        Redis::start(Persistence::Off),
    );
    let urls = format!("{},{}", r1.url(), r2.url());
    let (a, b) = (node_on(&urls, &[]).await, node_on(&urls, &[]).await);
    let rooms: Vec<String> = (0..8).map(|i| format!("s-{i}")).collect();
    let mut member = Client::connect(&b).await;
    for room in &rooms {
        member.join(room, "member").await;
    }
    const N: u64 = 10;
    for i in 1..=N {
        for room in &rooms {
            assert_eq!(post(&a, room, &format!("{room} {i}")).await["seq"], i);
        }
    }
    let mut next: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    while next.values().filter(|s| **s == N).count() < rooms.len() {
        if let ServerMsg::Message(m) = member.recv().await {
            let want = next.get(&m.room).map_or(1, |s| s + 1);
            assert_eq!(m.seq, want, "{}: a gap or a repeat", m.room);
            assert_eq!(m.text, format!("{} {}", m.room, m.seq));
            next.insert(m.room.clone(), m.seq);
        }
    }
    // Each room on one Redis, both Redis used.
    let on = |r: &Redis| -> Vec<String> {
        let mut k: Vec<String> = r
            .cmd(redis::cmd("KEYS").arg("banter:r:*:seq"))
            .expect("KEYS");
        k.sort();
        k
    };
    let (one, two) = (on(&r1), on(&r2));
    assert!(!one.is_empty() && !two.is_empty(), "{one:?} {two:?}");
    assert_eq!(one.len() + two.len(), rooms.len());
    assert!(one.iter().all(|k| !two.contains(k)));
    // The room list merges both, by name, with their heads.
    let (_, list) = get_json(&b, "/api/rooms").await;
    let listed: Vec<(String, u64)> = list["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| {
            let name = r["room"].as_str().unwrap_or_default().to_owned();
            (name, r["head"].as_u64().unwrap_or(0))
        })
        .collect();
    let want: Vec<(String, u64)> = rooms.iter().map(|r| (r.clone(), N)).collect();
    assert_eq!(listed, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_to_a_replica_is_a_new_epoch_even_when_both_fsync_every_write() {
    let primary = Redis::start(Persistence::ALWAYS);
    let first = node(&primary, &[]).await;
    for i in 1..=5u64 {
        assert_eq!(post(&first, "ops", &format!("m{i}")).await["seq"], i);
    }
    let before = page(&first, "ops", 0).await;
    let port = primary.port.to_string();
    let replica = Redis::start_args(Persistence::ALWAYS, &["--replicaof", "127.0.0.1", &port]);
    // The replica has everything, then is promoted (as Sentinel would, the primary gone).
    wait_until("the replica caught up", || {
        let head: Option<u64> = replica
            .cmd(redis::cmd("GET").arg("banter:r:{ops}:seq"))
            .unwrap_or(None);
        head == Some(5)
    })
    .await;
    drop(first);
    drop(primary);
    let _: String = replica
        .cmd(redis::cmd("REPLICAOF").arg("NO").arg("ONE"))
        .expect("REPLICAOF NO ONE");
    let second = node(&replica, &[]).await;
    let after = page(&second, "ops", 0).await;
    assert_ne!(
        after["epoch"], before["epoch"],
        "a new epoch after a failover"
    );
    assert_eq!(
        after["messages"], before["messages"],
        "what the replica had is kept"
    );
    assert_eq!(post(&second, "ops", "m6").await["seq"], 6);
    assert_eq!(page(&second, "ops", 5).await["epoch"], after["epoch"]);
}
