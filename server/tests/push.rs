//! Web Push (v1.2 "Notifications") over real sockets: a push service started by the test on a
//! loopback port (allowed with `--push-allow-endpoint`) receives the server's requests, and the
//! test plays the browser: it made the subscription's P-256 key pair and auth secret, and
//! decrypts each payload (RFC 8291 `aes128gcm`) to check what it says; the VAPID JWT is checked
//! against the key of `GET /api/push/key`. A user who is connected gets no push; a busy room
//! gives few pushes; a `410` or a `404` removes the subscription (and it is pushed to no more);
//! previews off and muted rooms hold; a loopback endpoint is refused without the allow flag; a
//! private room's mention reaches only its members; a group conversation's message pushes each
//! member.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use banter_protocol::ClientMsg;
use common::push::{Browser, PushService, check_vapid};
use common::*;
use serde_json::{Value, json};

async fn server_for(service: &PushService, batch: Duration) -> TestServer {
    let base = service.base.clone();
    start_server_with(move |c| {
        c.push.push_allow_endpoints = vec![base];
        c.push.push_batch = batch;
    })
    .await
}

const SECRET: &str = "push-test-secret-0123456789abcdef";

/// A token server (tokens signed with [`SECRET`]) pushing to `service`.
async fn token_server_for(service: &PushService, batch: Duration) -> TestServer {
    let base = service.base.clone();
    start_server_with(move |c| {
        c.auth = banter_server::config::AuthKind::Token;
        c.auth_secret = Some(SECRET.into());
        c.push.push_allow_endpoints = vec![base];
        c.push.push_batch = batch;
    })
    .await
}

/// Sends `body` to `path` with `method`; the status and JSON answer.
async fn call(server: &TestServer, method: &str, path: &str, body: Value) -> (u16, Value) {
    let c = reqwest::Client::new();
    let req = match method {
        "POST" => c.post(server.http(path)),
        "PUT" => c.put(server.http(path)),
        "DELETE" => c.delete(server.http(path)),
        _ => c.get(server.http(path)),
    };
    let res = req.json(&body).send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn subscribe(server: &TestServer, user: &str, b: &Browser) -> u16 {
    let path = format!("/api/push/subscriptions?user={user}");
    call(server, "POST", &path, serde_json::to_value(&b.sub).unwrap())
        .await
        .0
}

async fn say(server: &TestServer, room: &str, user: &str, text: &str) {
    let (status, _) = post(server, room, json!({"user": user, "text": text})).await;
    assert_eq!(status, 201);
}

/// Waits until the server counts `n` open WebSocket connections (`/metrics`).
async fn wait_connections(server: &TestServer, n: usize) {
    let want = format!("banter_connections {n}");
    banter_testkit::retry(&want, || async {
        let text = reqwest::get(server.http("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines().any(|l| l.trim() == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_mention_reaches_a_user_away_encrypted_and_signed() {
    let mut service = PushService::start().await;
    let server = server_for(&service, Duration::from_millis(200)).await;
    let (status, key) = get_json(&server, "/api/push/key").await;
    assert_eq!(status, 200);
    let key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(get_json(&server, "/api/push/key").await.1["key"], key);

    let bob = Browser::new(&service, "bob-laptop");
    assert_eq!(subscribe(&server, "bob", &bob).await, 201);
    say(&server, "dev", "ada", "@bob the build is red").await;

    let got = service.next().await;
    assert_eq!(got.id, "bob-laptop");
    assert_eq!(got.encoding, "aes128gcm");
    check_vapid(&got.authorization, &key, service.base.trim_end_matches('/'));
    let notice = bob.decrypt(&got.body);
    assert_eq!(notice.room, "dev");
    assert_eq!(notice.title, "#dev");
    assert_eq!(notice.body, "ada: @bob the build is red");
    assert_eq!((notice.count, notice.mention), (1, true));
    // Someone else's ciphertext is not readable with another browser's keys.
    let other = Browser::new(&service, "eve");
    assert!(ece::decrypt(&other.components, &other.auth, &got.body).is_err());
}

#[tokio::test]
async fn a_conversation_message_pushes_the_other_member() {
    let mut service = PushService::start().await;
    let server = server_for(&service, Duration::from_millis(200)).await;
    let cy = Browser::new(&service, "cy-phone");
    assert_eq!(subscribe(&server, "cy", &cy).await, 201);
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    ada.send(&ClientMsg::Direct {
        to: "cy".into(),
        text: "lunch at noon?".into(),
        client_id: Some("d1".into()),
    })
    .await;
    let notice = service.next_for(&cy).await;
    assert!(notice.room.starts_with("dm-"), "{notice:?}");
    assert_eq!(notice.with.as_deref(), Some("ada"));
    assert_eq!(
        (notice.title.as_str(), notice.body.as_str()),
        ("ada", "lunch at noon?")
    );
}

#[tokio::test]
async fn no_push_while_the_user_is_connected() {
    let mut service = PushService::start().await;
    let server = server_for(&service, Duration::from_millis(200)).await;
    let (bob, zed) = (Browser::new(&service, "bob"), Browser::new(&service, "zed"));
    assert_eq!(subscribe(&server, "bob", &bob).await, 201);
    assert_eq!(subscribe(&server, "zed", &zed).await, 201);
    let mut tab = Client::connect(&server).await;
    tab.join("dev", "bob").await;
    say(&server, "dev", "ada", "@bob while you are here").await;
    // Notices are taken in order: once zed's (posted after) is pushed, bob's was looked at.
    say(&server, "dev", "ada", "@zed ping").await;
    let first = service.next().await;
    assert_eq!(first.id, "zed", "bob was connected: no push for him");
    drop(tab);
    wait_connections(&server, 0).await;
    say(&server, "dev", "ada", "@bob now you are away").await;
    let notice = service.next_for(&bob).await;
    assert_eq!(notice.count, 1);
    assert_eq!(notice.body, "ada: @bob now you are away");
}

#[tokio::test]
async fn a_busy_room_sends_few_pushes() {
    let mut service = PushService::start().await;
    let window = Duration::from_secs(3);
    let server = server_for(&service, window).await;
    let bob = Browser::new(&service, "bob");
    assert_eq!(subscribe(&server, "bob", &bob).await, 201);
    const MESSAGES: u32 = 30;
    let started = Instant::now();
    for i in 1..=MESSAGES {
        say(&server, "dev", "ada", &format!("@bob step {i}")).await;
    }
    let took = started.elapsed();
    let (mut pushes, mut counted) = (0u32, 0u32);
    let mut last = None;
    while counted < MESSAGES {
        let n = service.next_for(&bob).await;
        pushes += 1;
        counted += n.count;
        last = Some(n);
    }
    assert_eq!(counted, MESSAGES, "every message counted once");
    // One push at once, then at most one per window while messages kept coming (and one more:
    // the worker may take the last ones in a little after the last post returned).
    let bound = 3 + (took.as_secs_f64() / window.as_secs_f64()) as u32;
    assert!(
        pushes <= bound,
        "{pushes} pushes in {took:?} (at most {bound})"
    );
    assert!(pushes < MESSAGES);
    let last = last.unwrap();
    assert_eq!(last.body, format!("ada: @bob step {MESSAGES}"));
    if last.count > 1 {
        assert_eq!(last.title, format!("{} new messages in #dev", last.count));
    }
}

#[tokio::test]
async fn a_gone_subscription_is_removed() {
    subscription_removed_when_the_service_answers(StatusCode::GONE).await;
}

#[tokio::test]
async fn a_subscription_the_service_does_not_know_is_removed() {
    subscription_removed_when_the_service_answers(StatusCode::NOT_FOUND).await;
}

/// bob has two subscriptions (the most allowed); the push service answers `answer` for one of
/// them: once a mention has been pushed, that one is removed, so a new one fits again and the
/// removed one may be subscribed again only in place of another.
async fn subscription_removed_when_the_service_answers(answer: StatusCode) {
    let mut service = PushService::start().await;
    let base = service.base.clone();
    let server = start_server_with(move |c| {
        c.push.push_allow_endpoints = vec![base];
        c.push.push_batch = Duration::from_millis(100);
        c.push.push_max_subscriptions = 2;
    })
    .await;
    let (old, kept, new) = (
        Browser::new(&service, "old"),
        Browser::new(&service, "kept"),
        Browser::new(&service, "new"),
    );
    service.gone.lock().unwrap().insert("old".into(), answer);
    assert_eq!(subscribe(&server, "bob", &old).await, 201);
    assert_eq!(subscribe(&server, "bob", &kept).await, 201);
    assert_eq!(subscribe(&server, "bob", &new).await, 403, "two at most");
    say(&server, "dev", "ada", "@bob hello").await;
    let mut seen = HashSet::new();
    while seen.len() < 2 {
        seen.insert(service.next().await.id);
    }
    // The push service said `answer` for `old`: it is removed, so a third fits again.
    banter_testkit::retry("the gone subscription removed", || async {
        (subscribe(&server, "bob", &new).await == 201).then_some(())
    })
    .await;
    assert_eq!(subscribe(&server, "bob", &old).await, 403, "{answer}");
    // `kept` (201) is still there: the next mention reaches it and `new`, never `old`.
    say(&server, "dev", "ada", "@bob again").await;
    let mut seen = HashSet::new();
    while seen.len() < 2 {
        let got = service.next().await.id;
        assert_ne!(got, "old", "a removed subscription is not pushed to");
        seen.insert(got);
    }
    assert_eq!(seen, HashSet::from(["kept".to_owned(), "new".to_owned()]));
}

#[tokio::test]
async fn previews_off_and_a_muted_room() {
    let mut service = PushService::start().await;
    let server = server_for(&service, Duration::from_millis(300)).await;
    let bob = Browser::new(&service, "bob");
    assert_eq!(subscribe(&server, "bob", &bob).await, 201);
    let settings = "/api/push/settings?user=bob";
    assert_eq!(get_json(&server, settings).await.1["previews"], true);
    assert_eq!(
        call(&server, "PUT", settings, json!({"previews": false}))
            .await
            .0,
        204
    );
    say(&server, "dev", "ada", "@bob the secret plan").await;
    let n = service.next_for(&bob).await;
    assert_eq!(
        (n.title.as_str(), n.body.as_str()),
        ("#dev", "You were mentioned")
    );

    let mute = "/api/push/mutes/ops?user=bob";
    assert_eq!(call(&server, "PUT", mute, Value::Null).await.0, 204);
    let (_, s) = get_json(&server, settings).await;
    assert_eq!(s, json!({"previews": false, "muted": ["ops"]}));
    say(&server, "ops", "ada", "@bob from a muted room").await;
    say(&server, "dev", "ada", "@bob from dev").await;
    let n = service.next_for(&bob).await;
    assert_eq!((n.room.as_str(), n.count), ("dev", 1), "{n:?}");
    assert!(!n.body.contains("dev"));

    assert_eq!(call(&server, "DELETE", mute, Value::Null).await.0, 204);
    let (_, s) = get_json(&server, settings).await;
    assert_eq!(s["muted"], json!([]));
}

#[tokio::test]
async fn endpoints_on_private_addresses_are_refused() {
    let service = PushService::start().await;
    let server = start_server().await;
    let mut b = Browser::new(&service, "x");
    // The test's own push service: loopback, and not allowed on this server.
    assert_eq!(subscribe(&server, "bob", &b).await, 400);
    for endpoint in [
        "https://127.0.0.1/push",
        "https://[::1]/push",
        "https://10.0.0.8/push",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/push",
        "http://8.8.8.8/push",
        "not a url",
    ] {
        b.sub.endpoint = endpoint.into();
        let (status, body) = call(
            &server,
            "POST",
            "/api/push/subscriptions?user=bob",
            serde_json::to_value(&b.sub).unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{endpoint}: {body}");
    }
    b.sub.endpoint = "https://push.example.com/x".into();
    b.sub.keys.auth = "c2hvcnQ".into();
    let (status, body) = call(
        &server,
        "POST",
        "/api/push/subscriptions?user=bob",
        serde_json::to_value(&b.sub).unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("auth"));
}

#[tokio::test]
async fn the_service_worker_is_served_at_the_root() {
    let server = start_server().await;
    let res = reqwest::get(server.http("/push-sw.js")).await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(h["service-worker-allowed"], "/");
    assert!(res.text().await.unwrap().contains("notificationclick"));
    // `--push false`: no push routes.
    let off = start_server_with(|c| c.push.push_on = false).await;
    assert_eq!(get_json(&off, "/api/push/key").await.0, 404);
}

#[tokio::test]
async fn on_a_token_server_the_token_says_who_and_a_room_limited_token_may_not_subscribe() {
    let mut service = PushService::start().await;
    let server = token_server_for(&service, Duration::from_secs(5)).await;
    let bob = Browser::new(&service, "bob");
    let subscribe_with = |token: String| {
        let (url, sub) = (server.http("/api/push/subscriptions"), bob.sub.clone());
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&sub)
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }
    };
    assert_eq!(
        subscribe_with(sign(SECRET, "bob", Some(&["dev"]))).await,
        403
    );
    assert_eq!(subscribe_with(sign(SECRET, "bob", None)).await, 201);
    let res = reqwest::Client::new()
        .post(server.http("/api/rooms/dev/messages"))
        .bearer_auth(sign(SECRET, "ada", None))
        .json(&json!({"text": "@bob see this"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let n = service.next_for(&bob).await;
    assert_eq!(n.body, "ada: @bob see this");
}

/// A push carries a preview, so it goes only to readers: a mention of a non-member in a private
/// room pushes nothing to them (a member named beside them is pushed); a group conversation's
/// message pushes each of its members but the sender.
#[tokio::test]
async fn pushes_reach_only_readers_of_private_rooms_and_every_member_of_a_group() {
    let mut service = PushService::start().await;
    let server = token_server_for(&service, Duration::from_millis(1)).await;
    let as_user = |user: &str, method: reqwest::Method, path: &str, body: Value| {
        let (url, token) = (server.http(path), sign(SECRET, user, None));
        async move {
            let res = reqwest::Client::new()
                .request(method, url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (bob, cy) = (Browser::new(&service, "bob"), Browser::new(&service, "cy"));
    for (user, b) in [("bob", &bob), ("cy", &cy)] {
        let sub = serde_json::to_value(&b.sub).unwrap();
        let (status, _) =
            as_user(user, reqwest::Method::POST, "/api/push/subscriptions", sub).await;
        assert_eq!(status, 201);
    }
    let post = reqwest::Method::POST;
    let created = json!({"room": "secret", "private": true});
    assert_eq!(
        as_user("ada", post.clone(), "/api/rooms", created).await.0,
        201
    );
    let member = json!({"role": "member"});
    let path = "/api/rooms/secret/members/cy";
    assert_eq!(
        as_user("ada", reqwest::Method::PUT, path, member).await.0,
        201
    );
    let text = json!({"text": "@bob @cy the plan"});
    let path = "/api/rooms/secret/messages";
    assert_eq!(as_user("ada", post.clone(), path, text).await.0, 201);
    let text = json!({"text": "@bob in public"});
    let path = "/api/rooms/dev/messages";
    assert_eq!(as_user("ada", post.clone(), path, text).await.0, 201);
    // The first two pushes: cy's for the private room, bob's for the public one (had the
    // private room's mention reached bob, it would be among them).
    let mut first = Vec::new();
    for _ in 0..2 {
        let got = service.next().await;
        let b = if got.id == bob.id { &bob } else { &cy };
        let n = b.decrypt(&got.body);
        first.push((got.id, n.room, n.body));
    }
    first.sort();
    assert_eq!(
        first,
        [
            ("bob".into(), "dev".into(), "ada: @bob in public".into()),
            (
                "cy".into(),
                "secret".into(),
                "ada: @bob @cy the plan".into()
            ),
        ]
    );

    let group = json!({"members": ["ada", "bob", "cy"]});
    let (status, made) = as_user("ada", post.clone(), "/api/conversations", group).await;
    assert!(status == 201 || status == 200, "{status} {made}");
    let room = made["room"].as_str().expect("the group's id").to_owned();
    let path = format!("/api/rooms/{room}/messages");
    let text = json!({"text": "hello all"});
    assert_eq!(as_user("ada", post, &path, text).await.0, 201);
    let mut told = Vec::new();
    for _ in 0..2 {
        let got = service.next().await;
        let b = if got.id == bob.id { &bob } else { &cy };
        let n = b.decrypt(&got.body);
        assert_eq!(
            (n.room.as_str(), n.body.as_str()),
            (room.as_str(), "ada: hello all")
        );
        told.push(got.id);
    }
    told.sort();
    assert_eq!(
        told,
        ["bob", "cy"],
        "every member of the group but the sender"
    );
}
