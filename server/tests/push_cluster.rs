//! Web Push in a cluster: two `banter` nodes sharing a real `redis-server`. Both serve the same
//! VAPID key (made once, kept in Redis); a user connected to one node gets no push for a
//! mention posted on the other; once their last connection anywhere is gone (the node no longer
//! subscribes their channel), the next mention is pushed, signed with that key.

mod common;

use banter_testkit::{Client, Persistence, Redis, get_json, post, retry};
use common::process::node;
use common::push::{Browser, PushService, check_vapid};
use serde_json::json;

async fn say(node: &banter_testkit::Banter, room: &str, text: &str) {
    let (status, _) = post(node, room, json!({"user": "ada", "text": text})).await;
    assert_eq!(status, 201);
}

/// Subscribes `b` for `user` on `node`.
async fn subscribe(node: &banter_testkit::Banter, user: &str, b: &Browser) {
    let res = reqwest::Client::new()
        .post(banter_testkit::Endpoint::http(
            node,
            &format!("/api/push/subscriptions?user={user}"),
        ))
        .json(&b.sub)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_connected_on_another_node_gets_no_push_until_they_leave() {
    let redis = Redis::start(Persistence::Off);
    let mut service = PushService::start().await;
    let flags = [
        "--push-allow-endpoint",
        &service.base,
        "--push-batch",
        "200ms",
    ];
    let (a, b) = (node(&redis, &flags).await, node(&redis, &flags).await);
    let key = get_json(&a, "/api/push/key").await.1["key"].clone();
    assert!(key.is_string());
    assert_eq!(get_json(&b, "/api/push/key").await.1["key"], key, "one key");

    let (bob, zed) = (Browser::new(&service, "bob"), Browser::new(&service, "zed"));
    subscribe(&a, "bob", &bob).await;
    subscribe(&b, "zed", &zed).await;
    let mut tab = Client::connect(&b).await;
    tab.join("dev", "bob").await;
    say(&a, "dev", "@bob while you are on the other node").await;
    // Node a takes notices in order: zed's push (posted after) means bob's was looked at.
    say(&a, "dev", "@zed ping").await;
    assert_eq!(service.next().await.id, "zed", "bob is connected on b");

    drop(tab);
    let mut redis_conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    retry("bob's channel unsubscribed by node b", || {
        let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("banter:u:bob")
            .query(&mut redis_conn)
            .unwrap();
        std::future::ready((subscribers == 0).then_some(()))
    })
    .await;
    say(&a, "dev", "@bob now you are away").await;
    let got = loop {
        let got = service.next().await;
        if got.id == "bob" {
            break got;
        }
    };
    check_vapid(
        &got.authorization,
        key.as_str().unwrap(),
        service.base.trim_end_matches('/'),
    );
    let notice = bob.decrypt(&got.body);
    assert_eq!(
        (notice.count, notice.body.as_str()),
        (1, "ada: @bob now you are away")
    );
}
