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

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use banter_protocol::{ClientMsg, ServerMsg};
use common::Client;
use common::process::{Proc, scratch};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

/// A `redis-server` on a free port that keeps an RDB file only when told (`SAVE`).
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl Redis {
    fn start() -> Redis {
        Redis::start_with(&[])
    }

    /// With more `redis-server` arguments (e.g. `--replicaof`, `--appendonly yes`).
    fn start_with(extra: &[&str]) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut r = Redis {
            child: None,
            port,
            dir: tempfile::tempdir().expect("a temporary directory"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        r.restart();
        r
    }

    /// Starts (again) on the same port and directory: it loads the last `SAVE`d snapshot.
    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", ""])
            .args(if self.extra.is_empty() {
                &["--appendonly", "no"][..]
            } else {
                &[][..]
            })
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while self.cmd::<String>(&mut redis::cmd("PING")).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20)); // polling interval
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn cmd<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
        let mut c =
            redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(1))?;
        cmd.query(&mut c)
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A node on `redis`, limits lifted.
async fn node(redis: &Redis, data: &std::path::Path) -> Proc {
    node_on(&redis.url(), data).await
}

/// A node on the Redis URL(s) `url`, limits lifted.
async fn node_on(url: &str, data: &std::path::Path) -> Proc {
    Proc::start(&[
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
        "--redis",
        url,
        "--rate-per-sec",
        "0",
        "--http-rate-per-sec",
        "0",
        "--max-connections-per-ip",
        "0",
    ])
    .await
}

fn http(p: &Proc, path: &str) -> String {
    format!("http://{}{path}", p.addr)
}

fn ws(p: &Proc) -> String {
    format!("ws://{}/ws", p.addr)
}

/// Posts `text` to `room` until a node answers 201 (Redis may be coming back); the stored
/// message.
async fn post(p: &Proc, room: &str, text: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "{text} was never stored");
        let res = reqwest::Client::new()
            .post(http(p, &format!("/api/rooms/{room}/messages")))
            .timeout(Duration::from_secs(3))
            .json(&json!({"user": "bot", "text": text}))
            .send()
            .await;
        if let Ok(res) = res
            && res.status().as_u16() == 201
        {
            return res.json().await.expect("json");
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // retry interval, as a client does
    }
}

/// `GET …/messages?since=`: the page.
async fn page(p: &Proc, room: &str, since: u64) -> Value {
    reqwest::get(http(
        p,
        &format!("/api/rooms/{room}/messages?since={since}&limit=1000"),
    ))
    .await
    .expect("get")
    .json()
    .await
    .expect("json")
}

/// Joins `room` resuming from `since` in `epoch`: the `joined` epoch and the replay's
/// `(from, to, complete)`.
async fn resume(p: &Proc, room: &str, since: u64, epoch: &str) -> (String, (u64, u64, bool)) {
    let mut c = Client::connect_raw(&ws(p)).await;
    c.recv().await; // welcome
    c.send(&ClientMsg::Join {
        room: room.into(),
        name: "reader".into(),
        since: Some(since),
        epoch: Some(epoch.into()),
        with: None,
    })
    .await;
    let joined = match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await
    {
        ServerMsg::Joined { epoch, .. } => epoch,
        _ => unreachable!(),
    };
    let (_, from, to, complete) = common::replay_bounds(c.recv().await);
    (joined, (from, to, complete))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_back_from_an_older_snapshot_never_reuses_a_seq_a_client_saw_in_its_epoch() {
    let mut redis = Redis::start();
    let (da, db) = (scratch("rollback-a"), scratch("rollback-b"));
    let (a, b) = (node(&redis, &da).await, node(&redis, &db).await);
    // `hot` has a member on b through it all; `cold` is loaded by no node at the restart.
    let mut member = Client::connect_raw(&ws(&b)).await;
    member.recv().await; // welcome
    member.join("hot", "member").await;
    for i in 1..=120u64 {
        if i == 101 {
            let saved: String = redis.cmd(&mut redis::cmd("SAVE")).expect("SAVE");
            assert_eq!(saved, "OK");
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
    redis.kill9();
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
            let (epoch, (from, to, complete)) = resume(p, room, 120, seen).await;
            assert_ne!(epoch, seen, "{room}");
            assert_eq!((from, to, complete), (1, 120, false), "{room}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_rooms_without_messages_leave_no_key_in_redis() {
    let redis = Redis::start();
    let data = scratch("reads");
    let n = node(&redis, &data).await;
    let keys = || -> Vec<String> {
        let mut k: Vec<String> = redis.cmd(redis::cmd("KEYS").arg("*")).expect("KEYS");
        k.sort();
        k
    };
    // The node's own keys (its heartbeat, the life of the data) are there once it serves.
    let deadline = Instant::now() + WAIT;
    while !keys().iter().any(|k| k.starts_with("banter:node:")) {
        assert!(
            Instant::now() < deadline,
            "the node never wrote its heartbeat"
        );
        tokio::time::sleep(Duration::from_millis(20)).await; // polling interval
    }
    let before = keys();
    let client = reqwest::Client::new();
    for i in 0..2_000 {
        let path = match i % 2 {
            0 => format!("/api/rooms/empty-{i}/messages?since=0"),
            _ => format!("/api/rooms/empty-{i}/messages?before=10"),
        };
        let res = client.get(http(&n, &path)).send().await.expect("get");
        assert_eq!(res.status().as_u16(), 200);
    }
    let mut c = Client::connect_raw(&ws(&n)).await;
    c.recv().await; // welcome
    for i in 0..500 {
        let room = format!("joined-{i}");
        c.send(&ClientMsg::Join {
            room: room.clone(),
            name: "ann".into(),
            since: None,
            epoch: None,
            with: None,
        })
        .await;
        match c
            .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
            .await
        {
            ServerMsg::Joined { .. } => {}
            other => panic!("join {i} refused: {other:?}"),
        }
        c.send(&ClientMsg::Leave { room }).await;
    }
    drop(c);
    // Presence written on join is taken back on leave: wait for the writes to land.
    let deadline = Instant::now() + WAIT;
    loop {
        let now = keys();
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "2,500 reads left {} keys behind: {:?}",
            now.len() - before.len().min(now.len()),
            now.iter()
                .filter(|k| !before.contains(k))
                .take(5)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // polling interval
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_sharded_over_two_redis_keep_one_order_each_and_list_together() {
    let (r1, r2) = (Redis::start(), Redis::start());
    let urls = format!("{},{}", r1.url(), r2.url());
    let (da, db) = (scratch("shards-a"), scratch("shards-b"));
    let (a, b) = (node_on(&urls, &da).await, node_on(&urls, &db).await);
    let rooms: Vec<String> = (0..8).map(|i| format!("s-{i}")).collect();
    let mut member = Client::connect_raw(&ws(&b)).await;
    member.recv().await; // welcome
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
    let list: Value = reqwest::get(http(&b, "/api/rooms"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
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
    let durable = ["--appendonly", "yes", "--appendfsync", "always"];
    let primary = Redis::start_with(&durable);
    let data = scratch("failover");
    let first = node(&primary, &data).await;
    for i in 1..=5u64 {
        assert_eq!(post(&first, "ops", &format!("m{i}")).await["seq"], i);
    }
    let before = page(&first, "ops", 0).await;
    let replica_of = format!("127.0.0.1 {}", primary.port);
    let mut args = durable.to_vec();
    args.extend(["--replicaof", &replica_of]);
    let replica = Redis::start_with(&args);
    // The replica has everything, then is promoted (as Sentinel would, the primary gone).
    let deadline = Instant::now() + WAIT;
    loop {
        let head: Option<u64> = replica
            .cmd(redis::cmd("GET").arg("banter:r:{ops}:seq"))
            .unwrap_or(None);
        if head == Some(5) {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await; // polling interval
    }
    drop(first);
    drop(primary);
    let _: String = replica
        .cmd(redis::cmd("REPLICAOF").arg("NO").arg("ONE"))
        .expect("REPLICAOF NO ONE");
    let data = scratch("failover-2");
    let second = node(&replica, &data).await;
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
