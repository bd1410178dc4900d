//! Several nodes sharing rooms through Redis, tested as users meet them: a real `redis-server`
//! and real `banter` processes (`--redis`) on free loopback ports.
//!
//! - 3 nodes, members and writers on every node: every member sees one order per room and
//!   exactly 1..N, and a `client_id` re-sent through another node is stored once;
//! - chaos across nodes: readers cut at random resume on a random node, senders re-send through
//!   another node, the pub/sub connections are killed (`CLIENT KILL TYPE pubsub`) and a node is
//!   killed with -9 and started again: every reader sees exactly 1..N, `GET` lists N messages
//!   (several seeds; `CLUSTER_SEEDS=n` runs more);
//! - Redis unreachable: posts refused with `unavailable`, never acked; Redis back (with AOF):
//!   the nodes carry on without a restart, nothing lost, members see no gap;
//! - the Redis store's readiness (what `/readyz` reports) follows Redis going away and back;
//! - presence is the union over nodes, a killed node's names leave within the stated bound, and
//!   a direct message reaches its recipient on another node;
//! - Redis restarted without persistence: new epochs; a member present through it is closed
//!   with 4000 (resume), and a resuming client is told `complete: false`;
//! - `--retain-age`: messages older than the age leave every node's history by themselves (a
//!   busy room's is cut exactly between old and young, a private conversation's too), the
//!   `seq` carries on, younger messages stay.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use banter_protocol::{ChatMessage, ClientMsg, ServerMsg};
use common::Client;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A `redis-server` on a free port, its files in a temporary directory. Killed on drop.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    aof: bool,
}

impl Redis {
    /// Without persistence, or with AOF fsynced on every write (`aof`).
    fn start(aof: bool) -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            aof,
        };
        r.restart();
        r
    }

    /// Starts (again) on the same port and directory.
    fn restart(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if self.aof {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        self.child = Some(
            cmd.spawn()
                .expect("redis-server (apt-get install redis-server)"),
        );
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self
                .conn()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20)); // polling interval
        }
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(1))
    }

    /// Cuts every node's pub/sub connection.
    fn kill_pubsub(&self) -> u64 {
        let mut c = self.conn().expect("redis");
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut c)
            .expect("CLIENT KILL")
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

/// A `banter` node in the cluster. Killed (SIGKILL) on drop.
struct Node {
    child: Child,
    addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl Node {
    async fn start(redis: &Redis) -> Node {
        Node::start_with(redis, &[]).await
    }

    /// A node with more flags.
    async fn start_with(redis: &Redis, extra: &[&str]) -> Node {
        let data = tempfile::tempdir().expect("a temporary directory");
        for _ in 0..5 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let mut child = Command::new(env!("CARGO_BIN_EXE_banter"))
                .arg("--listen")
                .arg(addr.to_string())
                .arg("--data-dir")
                .arg(data.path())
                .args(["--redis", &redis.url(), "--rate-per-sec", "0"])
                .args(["--http-rate-per-sec", "0", "--max-connections-per-ip", "0"])
                .args(["--max-tcp-connections-per-ip", "0"])
                .args(extra)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
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
                    return Node {
                        child,
                        addr,
                        _data: data,
                    };
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

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

async fn cluster(redis: &Redis, n: usize) -> Vec<Node> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(Node::start(redis).await);
    }
    nodes
}

async fn post(base: &str, room: &str, body: Value) -> Result<(u16, Value), reqwest::Error> {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/rooms/{room}/messages"))
        .timeout(Duration::from_secs(3))
        .json(&body)
        .send()
        .await?;
    Ok((
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    ))
}

/// Every message of `room`, paging forward with `since`.
async fn all_messages(node: &Node, room: &str) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::new();
    loop {
        let since = out.last().map_or(0, |m| m.seq);
        let page: Value = reqwest::get(node.http(&format!(
            "/api/rooms/{room}/messages?since={since}&limit=1000"
        )))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
        let msgs: Vec<ChatMessage> =
            serde_json::from_value(page["messages"].clone()).expect("messages");
        if msgs.is_empty() {
            return out;
        }
        out.extend(msgs);
    }
}

/// A small deterministic generator, so a failing seed can be run again.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

/// What a reader saw of a room: the messages, in order, across every reconnect.
#[derive(Default)]
struct Seen {
    msgs: Vec<ChatMessage>,
    epoch: Option<String>,
    reconnects: usize,
}

/// Follows `room` until it has `n` messages: joins a node (resuming with `since` and `epoch`),
/// checks every message is the next `seq`, and with `cut` drops the connection at random and
/// resumes on a random node. A node that is down is skipped.
async fn follow(urls: Arc<Mutex<Vec<String>>>, room: String, n: u64, seed: u64, cut: bool) -> Seen {
    let mut rng = Rng(seed);
    let mut seen = Seen::default();
    let deadline = Instant::now() + Duration::from_secs(40);
    while (seen.msgs.len() as u64) < n {
        assert!(
            Instant::now() < deadline,
            "reader of {room} stalled at {}",
            seen.msgs.len()
        );
        let url = {
            let u = urls.lock().unwrap();
            u[rng.below(u.len() as u64) as usize].clone()
        };
        let budget = if cut { 1 + rng.below(n / 3) } else { u64::MAX };
        let _ = follow_once(&url, &room, n, budget, &mut seen).await;
        seen.reconnects += 1;
    }
    seen
}

/// One connection of [`follow`]: at most `budget` messages, any error ends it.
async fn follow_once(
    url: &str,
    room: &str,
    n: u64,
    budget: u64,
    seen: &mut Seen,
) -> Result<(), String> {
    let connect = tokio_tungstenite::connect_async(url);
    let (mut ws, _) = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| "connect timeout")?
        .map_err(|e| e.to_string())?;
    let since = seen.msgs.last().map_or(0, |m| m.seq);
    let join = ClientMsg::Join {
        room: room.into(),
        name: "reader".into(),
        since: Some(since),
        epoch: seen.epoch.clone(),
        with: None,
    };
    ws.send(Message::text(join.to_json()))
        .await
        .map_err(|e| e.to_string())?;
    let mut got = 0;
    while got < budget && (seen.msgs.len() as u64) < n {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .map_err(|_| "no message for 5 s")?
            .ok_or("closed")?
            .map_err(|e| e.to_string())?;
        let Message::Text(t) = frame else { continue };
        match serde_json::from_str::<ServerMsg>(&t).map_err(|e| e.to_string())? {
            ServerMsg::Joined { epoch, .. } => {
                if let Some(had) = &seen.epoch {
                    assert_eq!(*had, epoch, "{room}: the epoch changed under a reader");
                }
                seen.epoch = Some(epoch);
            }
            ServerMsg::Replay { complete, .. } => {
                assert!(complete, "{room}: resume from {since} not complete");
            }
            ServerMsg::Message(m) => {
                let want = seen.msgs.last().map_or(1, |l| l.seq + 1);
                assert_eq!(m.seq, want, "{room}: a gap or a repeat at {want}");
                seen.msgs.push(m);
                got += 1;
            }
            ServerMsg::Error { code, message, .. } => return Err(format!("{code:?}: {message}")),
            _ => {}
        }
    }
    Ok(())
}

/// Sends `count` messages with `client_id`s `{tag}-{i}` through WebSocket on `url`, waiting for
/// every ack. Returns the acked seqs.
async fn ws_writer(url: String, room: String, tag: String, count: usize) -> Vec<u64> {
    let mut c = Client::connect_raw(&url).await;
    c.recv().await; // welcome
    c.join(&room, &tag).await;
    let mut acked = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(25) {
        for i in chunk {
            let cid = format!("{tag}-{i}");
            c.say(&room, &format!("{tag} {i}"), Some(&cid)).await;
        }
        while acked.len() < chunk.last().map_or(0, |l| l + 1) {
            match c.recv().await {
                ServerMsg::Ack { seq, .. } => acked.push(seq),
                ServerMsg::Error { code, message, .. } => panic!("{code:?}: {message}"),
                _ => {}
            }
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_every_member_sees_one_order_and_exactly_1_to_n() {
    let redis = Redis::start(false);
    let nodes = cluster(&redis, 3).await;
    const ROOMS: usize = 2;
    const PER_WRITER: usize = 100;
    let n = (nodes.len() * PER_WRITER) as u64;
    let mut readers = Vec::new();
    for r in 0..ROOMS {
        for (i, node) in nodes.iter().enumerate() {
            // One reader pinned to each node (a one-node list), joined before the writers.
            let pinned = Arc::new(Mutex::new(vec![node.ws()]));
            readers.push(tokio::spawn(follow(
                pinned,
                format!("room-{r}"),
                n,
                i as u64,
                false,
            )));
        }
    }
    let mut writers = Vec::new();
    for r in 0..ROOMS {
        for (i, node) in nodes.iter().enumerate() {
            writers.push(tokio::spawn(ws_writer(
                node.ws(),
                format!("room-{r}"),
                format!("w{i}"),
                PER_WRITER,
            )));
        }
    }
    for w in writers {
        let acked = w.await.expect("writer");
        assert_eq!(acked.len(), PER_WRITER);
        assert!(acked.windows(2).all(|p| p[0] < p[1]), "acks in order");
    }
    let mut orders: Vec<Vec<String>> = Vec::new();
    let mut first: Vec<ChatMessage> = Vec::new();
    for r in readers {
        let seen = tokio::time::timeout(WAIT, r)
            .await
            .expect("reader")
            .unwrap();
        if first.is_empty() {
            first = seen.msgs.clone();
        }
        assert_eq!(
            seen.msgs.iter().map(|m| m.seq).collect::<Vec<_>>(),
            (1..=n).collect::<Vec<_>>()
        );
        orders.push(seen.msgs.iter().map(|m| m.id.clone()).collect());
    }
    for room in orders.chunks(nodes.len()) {
        assert!(
            room.iter().all(|o| *o == room[0]),
            "one order per room on every node"
        );
    }
    // A client_id re-sent through another node is acked with its seq, stored once.
    let (status, again) = post(
        &nodes[2].http(""),
        "room-0",
        json!({"user": "w0", "text": "w0 7", "client_id": "w0-7"}),
    )
    .await
    .expect("post");
    assert_eq!(status, 200, "{again}");
    let original = first
        .iter()
        .find(|m| m.text == "w0 7")
        .expect("w0 7 was seen");
    assert_eq!(again["seq"].as_u64(), Some(original.seq));
    assert_eq!(again["id"].as_str(), Some(original.id.as_str()));
    for node in &nodes {
        assert_eq!(all_messages(node, "room-0").await.len() as u64, n);
    }
}

/// One chaos run (see the module docs).
async fn chaos(redis: &Redis, nodes: &mut [Node], seed: u64) {
    const READERS: usize = 4;
    const SENDERS: usize = 3;
    const PER_SENDER: usize = 60;
    let n = (SENDERS * PER_SENDER) as u64;
    let room = format!("chaos-{seed}");
    let urls = Arc::new(Mutex::new(nodes.iter().map(Node::ws).collect::<Vec<_>>()));
    let mut readers = Vec::new();
    for i in 0..READERS {
        readers.push(tokio::spawn(follow(
            urls.clone(),
            room.clone(),
            n,
            seed.wrapping_add(i as u64 * 31),
            true,
        )));
    }
    let acked = Arc::new(Mutex::new(std::collections::HashMap::<String, u64>::new()));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (urls, acked, room) = (urls.clone(), acked.clone(), room.clone());
        senders.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ ((s as u64 + 1) * 0x9E37));
            for i in 0..PER_SENDER {
                let cid = format!("s{s}-{i}");
                let deadline = Instant::now() + WAIT;
                loop {
                    assert!(Instant::now() < deadline, "{cid} never acked");
                    // Re-send through a random node (another one, after a failure).
                    let base = {
                        let u = urls.lock().unwrap();
                        u[rng.below(u.len() as u64) as usize]
                            .replace("ws://", "http://")
                            .replace("/ws", "")
                    };
                    let body = json!({"user": format!("s{s}"), "text": cid, "client_id": cid});
                    if let Ok((200 | 201, m)) = post(&base, &room, body).await
                        && let Some(seq) = m["seq"].as_u64()
                    {
                        let mut a = acked.lock().unwrap();
                        let before = *a.entry(cid.clone()).or_insert(seq);
                        assert_eq!(before, seq, "{cid} acked with two seqs");
                        break;
                    }
                }
            }
        }));
    }
    // Faults at seed-chosen points: the pub/sub connections cut, a node killed and restarted.
    let mut rng = Rng(seed);
    let cut_at = 10 + rng.below(n / 3) as usize;
    let kill_at = n as usize / 3 + rng.below(n / 3) as usize;
    let victim = rng.below(nodes.len() as u64) as usize;
    wait_acked(&acked, cut_at).await;
    assert!(redis.kill_pubsub() >= 1, "some pub/sub connection was cut");
    wait_acked(&acked, kill_at).await;
    nodes[victim].kill9();
    urls.lock().unwrap().remove(victim);
    nodes[victim] = Node::start(redis).await;
    urls.lock().unwrap().push(nodes[victim].ws());
    for s in senders {
        s.await.expect("a sender failed");
    }
    for r in readers {
        let seen = tokio::time::timeout(WAIT, r)
            .await
            .expect("a reader finished")
            .expect("a reader failed");
        assert_eq!(seen.msgs.len() as u64, n, "seed {seed}");
    }
    let stored = all_messages(&nodes[victim], &room).await;
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "seed {seed}: GET lists N messages"
    );
    let texts: std::collections::HashSet<&str> = stored.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len() as u64, n, "seed {seed}: N distinct messages");
}

async fn wait_acked(acked: &Arc<Mutex<std::collections::HashMap<String, u64>>>, at: usize) {
    let deadline = Instant::now() + WAIT;
    while acked.lock().unwrap().len() < at {
        assert!(Instant::now() < deadline, "too slow before the fault");
        tokio::time::sleep(Duration::from_millis(5)).await; // polling interval
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_across_nodes_readers_resume_exactly_through_pubsub_cuts_and_a_kill_9() {
    let runs: u64 = std::env::var("CLUSTER_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let base: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xC1u64);
    let redis = Redis::start(false);
    let mut nodes = cluster(&redis, 3).await;
    for i in 0..runs {
        let seed = base.wrapping_add(i * 7_777_777);
        eprintln!("cluster chaos, seed {seed} (CHAOS_SEED={base}, run {i})");
        chaos(&redis, &mut nodes, seed).await;
    }
}

/// Joins `room` on `url` as a member and returns the client after `joined`.
async fn member(url: &str, room: &str) -> Client {
    let mut c = Client::connect_raw(url).await;
    c.recv().await; // welcome
    c.join(room, "watcher").await;
    c
}

async fn next_message(c: &mut Client) -> ChatMessage {
    match c.recv_until(|m| common::message(m).is_some()).await {
        ServerMsg::Message(m) => m,
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_posts_are_refused_then_nodes_recover_without_a_restart() {
    let mut redis = Redis::start(true);
    let nodes = cluster(&redis, 2).await;
    let (a, b) = (nodes[0].http(""), &nodes[1]);
    let mut watcher = member(&b.ws(), "ops").await;
    for i in 1..=3 {
        let (status, _) = post(&a, "ops", json!({"user": "ci", "text": format!("m{i}")}))
            .await
            .expect("post");
        assert_eq!(status, 201);
        assert_eq!(next_message(&mut watcher).await.seq, i);
    }
    let epoch = all_messages(b, "ops").await;
    assert_eq!(epoch.len(), 3);

    redis.kill9();
    // Over HTTP: 503 `unavailable`, nothing acked.
    let (status, body) = post(
        &a,
        "ops",
        json!({"user": "ci", "text": "lost?", "client_id": "x-1"}),
    )
    .await
    .expect("post");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "unavailable");
    // Over WebSocket on the other node: an `unavailable` error, no ack.
    let mut sender = watcher;
    sender.say("ops", "lost too?", Some("x-2")).await;
    match sender
        .recv_until(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Ack { .. }))
        .await
    {
        ServerMsg::Error { code, .. } => assert_eq!(code.as_str(), "unavailable"),
        other => panic!("acked while Redis is down: {other:?}"),
    }

    // Redis back (same AOF): the nodes carry on by themselves; the re-sent message is stored
    // once, and the member on the other node sees it live, right after m3.
    redis.restart();
    let deadline = Instant::now() + WAIT;
    let stored = loop {
        assert!(Instant::now() < deadline, "posts never recovered");
        if let Ok((201, m)) = post(
            &a,
            "ops",
            json!({"user": "ci", "text": "lost?", "client_id": "x-1"}),
        )
        .await
        {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // retry interval, as a client does
    };
    assert_eq!(stored["seq"], 4, "nothing lost, nothing doubled");
    let live = next_message(&mut sender).await;
    assert_eq!((live.seq, live.text.as_str()), (4, "lost?"));
    let all = all_messages(b, "ops").await;
    assert_eq!(
        all.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m1", "m2", "m3", "lost?"]
    );
    assert_eq!(all[0].id, epoch[0].id, "the history survived the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_without_persistence_is_a_new_epoch_and_clients_are_told() {
    let mut redis = Redis::start(false);
    let nodes = cluster(&redis, 2).await;
    let base = nodes[0].http("");
    for i in 1..=5 {
        post(
            &base,
            "lobby",
            json!({"user": "bot", "text": format!("old {i}")}),
        )
        .await
        .expect("post");
    }
    // A member stays in the room through the restart, on the other node.
    let mut present = member(&nodes[1].ws(), "lobby").await;
    let old_epoch: Value = reqwest::get(nodes[1].http("/api/rooms/lobby/messages?since=0"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let old_epoch = old_epoch["epoch"].as_str().expect("epoch").to_owned();

    redis.kill9();
    redis.restart();
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "posts never recovered");
        if let Ok((201, m)) = post(&base, "lobby", json!({"user": "bot", "text": "new 1"})).await {
            assert_eq!(m["seq"], 1, "Redis lost the room: it starts over");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // retry interval
    }
    // The member is closed as too slow (4000: resume), so it learns the history was lost.
    assert_eq!(present.expect_close().await, 4000);
    // A client that saw 1..5 of the old life resumes on the other node: it is told.
    let mut r = Client::connect_raw(&nodes[1].ws()).await;
    r.recv().await;
    r.send(&ClientMsg::Join {
        room: "lobby".into(),
        name: "reader".into(),
        since: Some(5),
        epoch: Some(old_epoch.clone()),
        with: None,
    })
    .await;
    let epoch = match r
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await
    {
        ServerMsg::Joined { epoch, .. } => epoch,
        _ => unreachable!(),
    };
    assert_ne!(epoch, old_epoch, "a new epoch");
    let (_, from, to, complete) = common::replay_bounds(r.recv().await);
    assert_eq!((from, to, complete), (1, 1, false));
    assert_eq!(next_message(&mut r).await.text, "new 1");
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await; // polling interval
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_is_not_ready_while_redis_is_unreachable_and_ready_again_after() {
    use banter_server::store::Store;
    use banter_server::store::redis::{RedisConfig, RedisStore};
    let mut redis = Redis::start(false);
    let store = RedisStore::open(&RedisConfig {
        url: redis.url(),
        queue: 16,
        retain: None,
        retain_age: None,
        dedupe_window: Duration::from_secs(60),
    })
    .expect("open");
    wait_until("ready with Redis up", || store.ready()).await;
    redis.kill9();
    let down = Instant::now();
    wait_until("not ready with Redis down", || !store.ready()).await;
    assert!(
        down.elapsed() < Duration::from_secs(5),
        "noticed within 5 s"
    );
    redis.restart();
    wait_until("ready again, without a restart", || store.ready()).await;
}

/// The next `presence` frame: `(user, state)`.
async fn next_presence(c: &mut Client) -> (String, String) {
    match c
        .recv_until(|m| matches!(m, ServerMsg::Presence { .. }))
        .await
    {
        ServerMsg::Presence { user, state, .. } => (
            user,
            serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ),
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_directs_span_nodes_and_a_killed_node_leaves_no_ghost() {
    let redis = Redis::start(false);
    let mut nodes = cluster(&redis, 3).await;
    let mut ann = client(&nodes[0]).await;
    ann.join("hall", "ann").await;
    let mut bob = client(&nodes[1]).await;
    let (users, _) = bob.join("hall", "bob").await;
    assert_eq!(
        users,
        ["ann", "bob"],
        "bob sees ann, who is on another node"
    );
    assert_eq!(
        next_presence(&mut ann).await,
        ("bob".into(), "joined".into())
    );

    let mut carol = client(&nodes[2]).await;
    let (users, _) = carol.join("hall", "carol").await;
    assert_eq!(users, ["ann", "bob", "carol"]);
    assert_eq!(
        next_presence(&mut ann).await,
        ("carol".into(), "joined".into())
    );
    // carol's node dies without a word: she is gone from the others within the stated bound.
    nodes[2].kill9();
    let killed = Instant::now();
    assert_eq!(
        next_presence(&mut ann).await,
        ("carol".into(), "left".into())
    );
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "no ghost past 10 s"
    );
    // bob leaves cleanly: told at once.
    drop(bob);
    assert_eq!(next_presence(&mut ann).await, ("bob".into(), "left".into()));
    let mut dave = client(&nodes[1]).await;
    let (users, _) = dave.join("hall", "dave").await;
    assert_eq!(users, ["ann", "dave"]);

    // A direct message reaches its recipient on another node, and the sender's other
    // connection on a third; the sending connection gets its echo.
    let mut ann2 = client(&nodes[1]).await;
    ann2.join("side", "ann").await;
    ann.send(&ClientMsg::Direct {
        to: "dave".into(),
        text: "psst".into(),
        client_id: Some("d1".into()),
    })
    .await;
    match dave.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
        ServerMsg::Direct(dm) => assert_eq!((dm.from.as_str(), dm.text.as_str()), ("ann", "psst")),
        _ => unreachable!(),
    }
    match ann.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
        ServerMsg::Direct(dm) => assert_eq!(dm.client_id.as_deref(), Some("d1")),
        _ => unreachable!(),
    }
    match ann2.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
        ServerMsg::Direct(dm) => {
            assert_eq!((dm.to.as_str(), dm.client_id), ("dave", None));
        }
        _ => unreachable!(),
    }
    // To someone connected nowhere (carol's node died): stored in their conversation, which
    // carol resumes from another node when she is back.
    ann.send(&ClientMsg::Direct {
        to: "carol".into(),
        text: "hello?".into(),
        client_id: None,
    })
    .await;
    let room = match ann.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
        ServerMsg::Direct(dm) => dm.room.expect("stored in a conversation"),
        _ => unreachable!(),
    };
    let mut carol = client(&nodes[0]).await;
    carol
        .send(&ClientMsg::Join {
            room: String::new(),
            name: "carol".into(),
            since: Some(0),
            epoch: None,
            with: Some("ann".into()),
        })
        .await;
    let texts = loop {
        match carol.recv().await {
            ServerMsg::Message(m) if m.room == room => break m.text,
            ServerMsg::Error { code, .. } => panic!("carol was refused: {code:?}"),
            _ => {}
        }
    };
    assert_eq!(texts, "hello?");

    // On a node that never saw this conversation, only Redis knows its members: a stranger is
    // refused, a member gets in by its id.
    let mut eve = client(&nodes[1]).await;
    eve.send(&ClientMsg::Join {
        room: room.clone(),
        name: "eve".into(),
        since: Some(0),
        epoch: None,
        with: None,
    })
    .await;
    assert_eq!(eve.expect_error().await, "forbidden");
    ann2.send(&ClientMsg::Join {
        room: room.clone(),
        name: "ann".into(),
        since: None,
        epoch: None,
        with: None,
    })
    .await;
    match ann2
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { with, head, .. } => {
            assert_eq!((with.as_deref(), head), (Some("carol"), 1));
        }
        other => panic!("ann was refused her own conversation: {other:?}"),
    }
}

/// A client connected to `node`, past its `welcome`.
async fn client(node: &Node) -> Client {
    let mut c = Client::connect_raw(&node.ws()).await;
    c.recv().await;
    c
}

/// A page of `room`'s history after `since` on `node`: its messages and `complete`.
async fn page(node: &Node, room: &str, since: u64) -> (Vec<ChatMessage>, bool) {
    let page: Value = reqwest::get(node.http(&format!(
        "/api/rooms/{room}/messages?since={since}&limit=1000"
    )))
    .await
    .expect("get")
    .json()
    .await
    .expect("json");
    (
        serde_json::from_value(page["messages"].clone()).expect("messages"),
        page["complete"].as_bool().expect("complete"),
    )
}

fn seqs(msgs: &[ChatMessage]) -> Vec<u64> {
    msgs.iter().map(|m| m.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_age_trims_old_messages_from_every_node_and_keeps_the_young() {
    const AGE_MS: u64 = 3000;
    let redis = Redis::start(false);
    // 3 s: long enough that a message just posted is still young when read back on a busy
    // machine; the nodes trim every 750 ms (a quarter of the age).
    let flags = ["--retain-age", "3s"];
    let a = Node::start_with(&redis, &flags).await;
    let b = Node::start_with(&redis, &flags).await;
    let send = |node: &Node, text: String| {
        let base = node.http("");
        async move {
            let (status, m) = post(&base, "aging", json!({"user": "bot", "text": text}))
                .await
                .expect("post");
            assert_eq!(status, 201, "{m}");
            m["seq"].as_u64().expect("seq")
        }
    };
    for i in 1..=3 {
        send(&a, format!("old {i}")).await;
    }
    // A direct message too: it is kept in its private conversation, which ages the same way.
    let mut ann = client(&a).await;
    ann.join("side", "ann").await;
    ann.send(&ClientMsg::Direct {
        to: "carol".into(),
        text: "old dm".into(),
        client_id: None,
    })
    .await;
    let dm_room = match ann.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
        ServerMsg::Direct(dm) => dm.room.expect("stored in a conversation"),
        _ => unreachable!(),
    };
    let (young, complete) = page(&b, "aging", 0).await;
    assert_eq!(seqs(&young), [1, 2, 3], "young messages are kept");
    assert!(complete);

    // Keep the room busy (a message every 50 ms, from either node) until 1..3 have left the
    // history, and 2.5 s more: the trims then cut between old and young messages of a stream.
    let mut seen: HashMap<u64, u64> = young.iter().map(|m| (m.seq, m.ts)).collect();
    let deadline = Instant::now() + WAIT;
    let mut head = 3;
    let mut busy_until: Option<Instant> = None;
    while busy_until.is_none_or(|t| Instant::now() < t) {
        let node = if head % 2 == 0 { &a } else { &b };
        head = send(node, format!("tick {head}")).await;
        let (msgs, _) = page(node, "aging", 0).await;
        seen.extend(msgs.iter().map(|m| (m.seq, m.ts)));
        if busy_until.is_none() && msgs.first().is_none_or(|m| m.seq > 3) {
            busy_until = Some(Instant::now() + Duration::from_millis(2500));
        }
        assert!(Instant::now() < deadline, "old messages never trimmed");
        tokio::time::sleep(Duration::from_millis(50)).await; // the room's pace, not a wait
    }
    // What is left, on either node: one unbroken run up to the newest message (the room's seq
    // carried on), none of it much older than the age, and what went before it was older.
    for node in [&a, &b] {
        let (msgs, complete) = page(node, "aging", 0).await;
        let now = banter_server::store::now_ms();
        assert!(!complete, "the history no longer starts at 1");
        let first = msgs.first().expect("young messages kept").seq;
        assert!(first > 3);
        assert_eq!(seqs(&msgs), (first..=head).collect::<Vec<_>>());
        let oldest = now - msgs[0].ts.min(now);
        assert!(
            oldest < AGE_MS + 2000,
            "the oldest message left is {oldest} ms old"
        );
        let cut = seen
            .get(&(first - 1))
            .expect("the last one trimmed was seen");
        assert!(
            now - cut >= AGE_MS,
            "seq {} was trimmed {} ms old",
            first - 1,
            now - cut
        );
    }
    // carol, back, finds the conversation (its seq kept) but the old message gone.
    let mut carol = client(&b).await;
    carol
        .send(&ClientMsg::Join {
            room: String::new(),
            name: "carol".into(),
            since: Some(0),
            epoch: None,
            with: Some("ann".into()),
        })
        .await;
    match carol
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { room, head, .. } => assert_eq!((room, head), (dm_room.clone(), 1)),
        other => panic!("carol was refused her conversation: {other:?}"),
    }
    let replay = carol
        .recv_until(|m| matches!(m, ServerMsg::Replay { .. } | ServerMsg::Message(_)))
        .await;
    let (_, from, to, complete) = common::replay_bounds(replay);
    assert!(
        !complete && from > to,
        "replayed {from}..={to} of a trimmed conversation"
    );
}
