//! A cluster's Redis behind Sentinel, failing over, tested as users meet it: a real primary and
//! replica (`redis-server`, AOF `always`), a real Sentinel (`redis-server --sentinel`, quorum 1)
//! and two real `banter` nodes given `--redis redis+sentinel://…/mymaster`.
//!
//! The primary is killed (`kill -9`); once Sentinel has promoted the replica, both nodes take
//! posts again without a restart, on the new primary. The promoted replica is a new life of the
//! data (`store/redis/life.rs`), so the room carries on from the `seq` it holds in a new epoch:
//! a member present through it is closed with 4000, a client resuming with the old epoch is told
//! `complete: false`, and no `seq` is ever served under the epoch a client saw with another
//! message than the one it saw.

mod common;

use banter_protocol::ChatMessage;
use banter_testkit::{
    Banter, Client, Persistence, Redis, Sentinel, all_messages, resume, retry, try_post, wait_until,
};
use common::process::launch;
use serde_json::json;

/// A node of the cluster the Sentinel names the master of, limits lifted.
async fn node(sentinel: &Sentinel) -> Banter {
    launch()
        .unlimited()
        .redis(&sentinel.url())
        .start()
        .await
        .expect("a banter node on Sentinel")
}

/// Posts `text` to `room` on `node` until it is stored (201), as a client retries while Redis
/// fails over; the stored message.
async fn stored(node: &Banter, room: &str, text: &str) -> ChatMessage {
    let body = json!({"user": "ci", "text": text, "client_id": text});
    retry("the post is stored", || async {
        match try_post(node, room, body.clone()).await {
            Ok((201, m)) => serde_json::from_value(m).ok(),
            _ => None,
        }
    })
    .await
}

fn info(redis: &Redis, section: &str) -> String {
    redis
        .cmd(redis::cmd("INFO").arg(section))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed_without_a_restart_in_a_new_epoch() {
    let mut primary = Redis::start(Persistence::ALWAYS);
    let port = primary.port.to_string();
    let replica = Redis::start_args(Persistence::ALWAYS, &["--replicaof", "127.0.0.1", &port]);
    wait_until("the replica is in sync", || {
        info(&replica, "replication").contains("master_link_status:up")
    })
    .await;
    let sentinel = Sentinel::start(&primary, "mymaster");
    wait_until("the Sentinel knows the replica", || {
        sentinel.replicas_up() == 1
    })
    .await;
    assert_eq!(sentinel.master_port(), Some(primary.port));

    let (a, b) = (node(&sentinel).await, node(&sentinel).await);
    let mut member = Client::connect(&b).await;
    member.join("ops", "member").await;
    let mut saw = Vec::new();
    for i in 1..=5u64 {
        let m = stored(&a, "ops", &format!("m{i}")).await;
        assert_eq!(m.seq, i);
        saw.push(member.next_message().await);
    }
    let before = resume(&a, "ops", 0, None, 5).await;
    let seen_epoch = before.epoch.clone();
    // The replica has all five (replication is asynchronous: the test waits for it, so that
    // what it checks after the failover is the epoch, not a lost write).
    wait_until("the replica has every post", || {
        replica
            .cmd::<Option<u64>>(redis::cmd("GET").arg("banter:r:{ops}:seq"))
            .ok()
            .flatten()
            == Some(5)
    })
    .await;

    primary.kill9();
    wait_until("Sentinel promotes the replica", || {
        sentinel.master_port() == Some(replica.port)
    })
    .await;
    assert!(info(&replica, "replication").contains("role:master"));

    // Both nodes take posts again, on the promoted replica, without a restart: the room carries
    // on after what the replica holds.
    let m6 = stored(&a, "ops", "m6").await;
    let m7 = stored(&b, "ops", "m7").await;
    assert_eq!((m6.seq, m7.seq), (6, 7));
    let head: Option<u64> = replica
        .cmd(redis::cmd("GET").arg("banter:r:{ops}:seq"))
        .expect("GET");
    assert_eq!(head, Some(7), "the posts went to the new primary");

    // The member present through the failover is told to resume.
    assert_eq!(member.expect_close().await, 4000);
    for node in [&a, &b] {
        // A client resuming from 5 in the epoch it saw is told the history is not continuous.
        let resumed = resume(node, "ops", 5, Some(seen_epoch.clone()), 0).await;
        assert_ne!(resumed.epoch, seen_epoch, "a new epoch after the failover");
        assert!(!resumed.bracket.3, "complete: false for the old epoch");
        // What it re-reads: everything the replica had, then the new posts, one order.
        let all = all_messages(node, "ops").await;
        let texts: Vec<&str> = all.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
        assert_eq!(
            all.iter().map(|m| m.seq).collect::<Vec<_>>(),
            (1..=7).collect::<Vec<_>>()
        );
        // Under the epoch the member saw, 1..5 were m1..m5; no node serves another message
        // under it.
        let again = resume(node, "ops", 0, Some(seen_epoch.clone()), 7).await;
        assert_ne!(again.epoch, seen_epoch);
    }
    assert_eq!(
        saw.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m1", "m2", "m3", "m4", "m5"]
    );
}
