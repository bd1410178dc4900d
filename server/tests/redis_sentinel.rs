//! A cluster's Redis behind Sentinel, failing over, tested as users meet it: a real primary and
//! replica (`redis-server`, AOF `always`), a real Sentinel (`redis-server --sentinel`, quorum 1)
//! and two real `banter` nodes given `--redis redis+sentinel://…/mymaster`.
//!
//! The primary is killed (`kill -9`); once Sentinel has promoted the replica, both nodes take
//! posts again without a restart, on the new primary. The promoted replica is a new life of the
//! data (`store/redis/life.rs`), so the room carries on from the `seq` it holds in a new epoch:
//! a member present through it is closed with 4000, a client resuming with the old epoch is told
//! `complete: false`, and no `seq` is ever served under the epoch a client saw with another
//! message than the one it saw. A planned switchover (`SENTINEL FAILOVER`, the old primary alive
//! and demoted) moves every write to the new primary.

mod common;

use banter_protocol::ChatMessage;
use banter_testkit::{
    Banter, Client, Persistence, Redis, Sentinel, all_messages, post_stored, resume, wait_until,
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

/// Posts `text` to `room` on `node` (with `text` as its `client_id`) until it is stored, as a
/// client retries while Redis fails over; the stored message.
async fn stored(node: &Banter, room: &str, text: &str) -> ChatMessage {
    let body = json!({"user": "ci", "text": text, "client_id": text});
    serde_json::from_value(post_stored(node, room, body).await).expect("a message")
}

fn info(redis: &Redis, section: &str) -> String {
    redis
        .cmd(redis::cmd("INFO").arg(section))
        .unwrap_or_default()
}

/// A primary and its replica, both AOF `always`, the replica in sync, and a Sentinel watching
/// the primary as `mymaster` that knows the replica.
async fn watched_pair() -> (Redis, Redis, Sentinel) {
    let primary = Redis::start(Persistence::ALWAYS);
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
    (primary, replica, sentinel)
}

/// The `seq` counter of `room` on `redis`.
fn head(redis: &Redis, room: &str) -> Option<u64> {
    redis
        .cmd(redis::cmd("GET").arg(format!("banter:r:{{{room}}}:seq")))
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed_without_a_restart_in_a_new_epoch() {
    let (mut primary, replica, sentinel) = watched_pair().await;

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
        head(&replica, "ops") == Some(5)
    })
    .await;

    primary.kill9();
    wait_until("Sentinel promotes the replica", || {
        sentinel.master_port() == Some(replica.port)
    })
    .await;
    // Why the epoch must change (life.rs): the promoted replica loaded its AOF and fsyncs every
    // write, like the old primary, but it was promoted (`master_replid2` set).
    let replication = info(&replica, "replication");
    assert!(replication.contains("role:master"), "{replication}");
    assert!(!replication.contains(&format!("master_replid2:{}", "0".repeat(40))));
    assert!(info(&replica, "persistence").contains("aof_enabled:1"));

    // Both nodes take posts again, on the promoted replica, without a restart: the room carries
    // on after what the replica holds.
    let m6 = stored(&a, "ops", "m6").await;
    let m7 = stored(&b, "ops", "m7").await;
    assert_eq!((m6.seq, m7.seq), (6, 7));
    assert_eq!(
        head(&replica, "ops"),
        Some(7),
        "the posts went to the new primary"
    );

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchover_with_the_old_primary_alive_moves_every_write_to_the_new_one() {
    let (primary, replica, sentinel) = watched_pair().await;
    let a = node(&sentinel).await;
    for i in 1..=3u64 {
        assert_eq!(stored(&a, "ops", &format!("m{i}")).await.seq, i);
    }
    // A planned switchover: the old primary lives on and becomes a replica of the new one.
    let _: String = sentinel
        .cmd(redis::cmd("SENTINEL").arg("FAILOVER").arg("mymaster"))
        .expect("SENTINEL FAILOVER");
    wait_until("Sentinel names the replica", || {
        sentinel.master_port() == Some(replica.port)
    })
    .await;
    wait_until("the old primary follows the new one", || {
        let r = info(&primary, "replication");
        r.contains("role:slave") && r.contains("master_link_status:up")
    })
    .await;
    let m4 = stored(&a, "ops", "m4").await;
    let m5 = stored(&a, "ops", "m5").await;
    assert_eq!((m4.seq, m5.seq), (4, 5));
    // Written on the new primary, and replicated to the old one: nothing was written to it
    // after it was demoted (it would refuse, READONLY, and hold a different history).
    assert_eq!(head(&replica, "ops"), Some(5));
    wait_until("the old primary has what the new one has", || {
        head(&primary, "ops") == Some(5)
    })
    .await;
    let texts: Vec<String> = all_messages(&a, "ops")
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["m1", "m2", "m3", "m4", "m5"]);
}
