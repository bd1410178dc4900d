//! Several nodes sharing rooms through Redis, tested as users meet them: a real `redis-server`
//! and real `banter` processes (`--redis`) on free loopback ports.
//!
//! - 3 nodes, members and writers on every node: every member sees one order per room and
//!   exactly 1..N, and a `client_id` re-sent through another node is stored once;
//! - chaos across nodes: readers cut at random resume on a random node, senders re-send through
//!   another node, the pub/sub connections are killed (`CLIENT KILL TYPE pubsub`) and a node is
//!   killed with -9 and started again: every reader sees exactly 1..N, `GET` lists N messages
//!   (several seeds; `CLUSTER_SEEDS=n` runs more);
//! - presence is the union over nodes, a killed node's names leave within the stated bound, and
//!   a direct message reaches its recipient on another node.
//!
//! What Redis itself going away or trimming does is in `cluster_redis.rs`.

mod common;

use std::time::{Duration, Instant};

use banter_protocol::{ChatMessage, ClientMsg, ServerMsg};
use banter_testkit::{
    Acks, Banter, Client, Nodes, Persistence, Redis, Rng, WAIT, all_messages, follow, post, seeds,
    ws_writer,
};
use common::process::cluster;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_every_member_sees_one_order_and_exactly_1_to_n() {
    let redis = Redis::start(Persistence::Off);
    let nodes = cluster(&redis, 3).await;
    const ROOMS: usize = 2;
    const PER_WRITER: usize = 100;
    let n = (nodes.len() * PER_WRITER) as u64;
    let mut readers = Vec::new();
    for r in 0..ROOMS {
        for (i, node) in nodes.iter().enumerate() {
            // One reader pinned to each node (a one-node list), joined before the writers.
            readers.push(tokio::spawn(follow(
                Nodes::new([node]),
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
        &nodes[2],
        "room-0",
        json!({"user": "w0", "text": "w0 7", "client_id": "w0-7"}),
    )
    .await;
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
async fn chaos(redis: &Redis, nodes: &mut [Banter], seed: u64) {
    const READERS: usize = 4;
    const SENDERS: usize = 3;
    const PER_SENDER: usize = 60;
    let n = (SENDERS * PER_SENDER) as u64;
    let room = format!("chaos-{seed}");
    let up = Nodes::new(nodes.iter());
    let mut readers = Vec::new();
    for i in 0..READERS {
        readers.push(tokio::spawn(follow(
            up.clone(),
            room.clone(),
            n,
            seed.wrapping_add(i as u64 * 31),
            true,
        )));
    }
    // Senders post over HTTP, each re-sending through a random node (another one, after a
    // failure) until stored.
    let acked = Acks::default();
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (up, acked, room) = (up.clone(), acked.clone(), room.clone());
        senders.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ ((s as u64 + 1) * 0x9E37));
            for i in 0..PER_SENDER {
                let cid = format!("s{s}-{i}");
                let user = format!("s{s}");
                acked
                    .post_until_stored(&up, &mut rng, &room, &user, &cid, &cid)
                    .await;
            }
        }));
    }
    // Faults at seed-chosen points: the pub/sub connections cut, a node killed and restarted.
    let mut rng = Rng(seed);
    let cut_at = 10 + rng.below(n / 3) as usize;
    let kill_at = n as usize / 3 + rng.below(n / 3) as usize;
    let victim = rng.below(nodes.len() as u64) as usize;
    acked.wait_for(cut_at).await;
    assert!(
        redis.cut_pubsub().await >= 1,
        "some pub/sub connection was cut"
    );
    acked.wait_for(kill_at).await;
    nodes[victim].kill9();
    up.remove(nodes[victim].addr);
    nodes[victim].restart().await.expect("restarted");
    up.add(nodes[victim].addr);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_across_nodes_readers_resume_exactly_through_pubsub_cuts_and_a_kill_9() {
    let redis = Redis::start(Persistence::Off);
    let mut nodes = cluster(&redis, 3).await;
    for seed in seeds("cluster chaos", "CLUSTER_SEEDS", 2, 0xC1) {
        chaos(&redis, &mut nodes, seed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_directs_span_nodes_and_a_killed_node_leaves_no_ghost() {
    let redis = Redis::start(Persistence::Off);
    let mut nodes = cluster(&redis, 3).await;
    let mut ann = Client::connect(&nodes[0]).await;
    ann.join("hall", "ann").await;
    let mut bob = Client::connect(&nodes[1]).await;
    let (users, _) = bob.join("hall", "bob").await;
    assert_eq!(
        users,
        ["ann", "bob"],
        "bob sees ann, who is on another node"
    );
    assert_eq!(ann.next_presence().await, ("bob".into(), "joined".into()));

    let mut carol = Client::connect(&nodes[2]).await;
    let (users, _) = carol.join("hall", "carol").await;
    assert_eq!(users, ["ann", "bob", "carol"]);
    assert_eq!(ann.next_presence().await, ("carol".into(), "joined".into()));
    // carol's node dies without a word: she is gone from the others within the stated bound.
    nodes[2].kill9();
    let killed = Instant::now();
    assert_eq!(ann.next_presence().await, ("carol".into(), "left".into()));
    assert!(
        killed.elapsed() < Duration::from_secs(10),
        "no ghost past 10 s"
    );
    // bob leaves cleanly: told at once.
    drop(bob);
    assert_eq!(ann.next_presence().await, ("bob".into(), "left".into()));
    let mut dave = Client::connect(&nodes[1]).await;
    let (users, _) = dave.join("hall", "dave").await;
    assert_eq!(users, ["ann", "dave"]);

    // A direct message reaches its recipient on another node, and the sender's other
    // connection on a third; the sending connection gets its echo.
    let mut ann2 = Client::connect(&nodes[1]).await;
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
    let dm = ann.direct("carol", "hello?", None).await;
    let room = dm.room.expect("stored in a conversation");
    let mut carol = Client::connect(&nodes[0]).await;
    carol.join_with("carol", "ann", Some(0)).await;
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
    let mut eve = Client::connect(&nodes[1]).await;
    eve.send(&ClientMsg::Join {
        room: room.clone(),
        name: "eve".into(),
        since: Some(0),
        epoch: None,
        with: None,
    })
    .await;
    assert_eq!(eve.expect_error().await, "forbidden");
    match ann2.try_join(&room, "ann").await {
        ServerMsg::Joined { with, head, .. } => {
            assert_eq!((with.as_deref(), head), (Some("carol"), 1));
        }
        other => panic!("ann was refused her own conversation: {other:?}"),
    }
}
