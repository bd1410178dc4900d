//! A cluster's Redis going away, coming back and trimming, tested as users meet it: a real
//! `redis-server` and real `banter` processes (`--redis`) on free loopback ports.
//!
//! - Redis unreachable: posts refused with `unavailable`, never acked; Redis back (with AOF):
//!   the nodes carry on without a restart, nothing lost, members see no gap;
//! - Redis restarted without persistence: new epochs; a member present through it is closed
//!   with 4000 (resume), and a resuming client is told `complete: false`;
//! - the Redis store's readiness (what `/readyz` reports) follows Redis going away and back;
//! - `--retain-age`: messages older than the age leave every node's history by themselves (a
//!   busy room's is cut exactly between old and young, a private conversation's too), the
//!   `seq` carries on, younger messages stay.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use banter_protocol::ServerMsg;
use banter_testkit::{
    Banter, Client, Persistence, Redis, WAIT, all_messages, get_json, page, post, post_stored,
    replay_bounds, wait_until,
};
use common::process::{cluster, node};
use serde_json::json;

/// Joins `room` on `node` as a member and returns the client after `joined`.
async fn member(node: &Banter, room: &str) -> Client {
    let mut c = Client::connect(node).await;
    c.join(room, "watcher").await;
    c
}

fn seqs(msgs: &[banter_protocol::ChatMessage]) -> Vec<u64> {
    msgs.iter().map(|m| m.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_posts_are_refused_then_nodes_recover_without_a_restart() {
    let mut redis = Redis::start(Persistence::ALWAYS);
    let nodes = cluster(&redis, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut watcher = member(b, "ops").await;
    for i in 1..=3 {
        let (status, _) = post(a, "ops", json!({"user": "ci", "text": format!("m{i}")})).await;
        assert_eq!(status, 201);
        assert_eq!(watcher.next_message().await.seq, i);
    }
    let epoch = all_messages(b, "ops").await;
    assert_eq!(epoch.len(), 3);

    redis.kill9();
    // Over HTTP: 503 `unavailable`, nothing acked.
    let (status, body) = post(
        a,
        "ops",
        json!({"user": "ci", "text": "lost?", "client_id": "x-1"}),
    )
    .await;
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
    let lost = json!({"user": "ci", "text": "lost?", "client_id": "x-1"});
    let stored = post_stored(a, "ops", lost).await;
    assert_eq!(stored["seq"], 4, "nothing lost, nothing doubled");
    let live = sender.next_message().await;
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
    let mut redis = Redis::start(Persistence::Off);
    let nodes = cluster(&redis, 2).await;
    for i in 1..=5 {
        let old = json!({"user": "bot", "text": format!("old {i}")});
        assert_eq!(post(&nodes[0], "lobby", old).await.0, 201);
    }
    // A member stays in the room through the restart, on the other node.
    let mut present = member(&nodes[1], "lobby").await;
    let (_, page) = get_json(&nodes[1], "/api/rooms/lobby/messages?since=0").await;
    let old_epoch = page["epoch"].as_str().expect("epoch").to_owned();

    redis.kill9();
    redis.restart();
    let new = json!({"user": "bot", "text": "new 1"});
    let m = post_stored(&nodes[0], "lobby", new).await;
    assert_eq!(m["seq"], 1, "Redis lost the room: it starts over");
    // The member is closed as too slow (4000: resume), so it learns the history was lost.
    assert_eq!(present.expect_close().await, 4000);
    // A client that saw 1..5 of the old life resumes on the other node: it is told.
    let mut r = Client::connect(&nodes[1]).await;
    let (epoch, (_, from, to, complete)) = r.resume("lobby", 5, Some(&old_epoch)).await;
    assert_ne!(epoch, old_epoch, "a new epoch");
    assert_eq!((from, to, complete), (1, 1, false));
    assert_eq!(r.next_message().await.text, "new 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_is_not_ready_while_redis_is_unreachable_and_ready_again_after() {
    let mut redis = Redis::start(Persistence::Off);
    let mut settings = banter_server::store::Settings::new("redis", std::env::temp_dir());
    settings.redis_url = Some(redis.url());
    let store = banter_server::store::open(&settings).expect("open");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_age_trims_old_messages_from_every_node_and_keeps_the_young() {
    const AGE_MS: u64 = 3000;
    let redis = Redis::start(Persistence::Off);
    // 3 s: long enough that a message just posted is still young when read back on a busy
    // machine; the nodes trim every 750 ms (a quarter of the age).
    let flags = ["--retain-age", "3s"];
    let a = node(&redis, &flags).await;
    let b = node(&redis, &flags).await;
    let send = async |node: &Banter, text: String| {
        let (status, m) = post(node, "aging", json!({"user": "bot", "text": text})).await;
        assert_eq!(status, 201, "{m}");
        m["seq"].as_u64().expect("seq")
    };
    for i in 1..=3 {
        send(&a, format!("old {i}")).await;
    }
    // A direct message too: it is kept in its private conversation, which ages the same way.
    let mut ann = Client::connect(&a).await;
    ann.join("side", "ann").await;
    let dm = ann.direct("carol", "old dm", None).await;
    let dm_room = dm.room.expect("stored in a conversation");
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
    let mut carol = Client::connect(&b).await;
    carol.join_with("carol", "ann", Some(0)).await;
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
    let (_, from, to, complete) = replay_bounds(replay);
    assert!(
        !complete && from > to,
        "replayed {from}..={to} of a trimmed conversation"
    );
}
