//! A private room is closed to non-members on every path on another node of a cluster (v1.2,
//! issue 18; `rooms.rs` checks the same paths on one node with its SQLite file): two `banter`
//! processes in token mode share a real `redis-server`; the room is made, a member added and a
//! message posted on node A. On node B a non-member is refused on WebSocket join with and
//! without `since`, `send`, `GET .../messages` (`since` and `before`), `GET .../threads/{seq}`,
//! `GET .../members` and posting over HTTP, and never sees the room in `GET /api/rooms`: first
//! while node B has not loaded the room (its access read from Redis), then while a member holds
//! it loaded there. The member on node B reads it all.

mod common;

use banter_protocol::{ClientMsg, ErrorCode, RoomRole, ServerMsg};
use banter_testkit::{Banter, Client, Endpoint, Persistence, Redis, WAIT};
use common::process::node;
use common::sign;
use serde_json::{Value, json};

const SECRET: &str = "rooms-cluster-secret-of-at-least-32-bytes";

/// A node in token mode (tokens signed with [`SECRET`]) on `redis`.
async fn token_node(redis: &Redis) -> Banter {
    node(redis, &["--auth", "token", "--auth-secret", SECRET]).await
}

/// An HTTP request as `user` (a bearer token), with an optional JSON body: status and answer.
async fn call(
    server: &impl Endpoint,
    user: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut req = reqwest::Client::new()
        .request(method, server.http(path))
        .bearer_auth(sign(SECRET, user, None))
        .timeout(WAIT);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A socket on `server` signed in as `user`.
async fn client(server: &impl Endpoint, user: &str) -> Client {
    let mut c = Client::connect_raw(&server.ws_url()).await;
    assert!(matches!(c.recv().await, ServerMsg::Welcome { .. }));
    c.send(&ClientMsg::Auth {
        token: sign(SECRET, user, None),
    })
    .await;
    match c
        .recv_until(|m| matches!(m, ServerMsg::Authenticated { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Authenticated { .. } => c,
        other => panic!("{user} not signed in: {other:?}"),
    }
}

fn join(room: &str, since: Option<u64>) -> ClientMsg {
    ClientMsg::Join {
        room: room.into(),
        name: String::new(),
        since,
        epoch: None,
        with: None,
    }
}

/// `joined`'s role and `private`, or the error code a `join` gets.
async fn try_join(
    c: &mut Client,
    room: &str,
    since: Option<u64>,
) -> Result<(Option<RoomRole>, bool), ErrorCode> {
    c.send(&join(room, since)).await;
    match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { role, private, .. } => Ok((role, private)),
        ServerMsg::Error { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

/// Whether `GET /api/rooms` as `user` on `server` lists `room`.
async fn lists(server: &impl Endpoint, user: &str, room: &str) -> Option<Value> {
    let (status, rooms) = call(server, user, "GET", "/api/rooms", None).await;
    assert_eq!(status, 200, "{rooms}");
    rooms["rooms"]
        .as_array()
        .expect("a list of rooms")
        .iter()
        .find(|r| r["room"] == room)
        .cloned()
}

/// Every path of `eve`, a non-member, into the private room `ops` on `server` is refused;
/// `seq` is a message of it.
async fn refused_everywhere(server: &impl Endpoint, seq: u64, when: &str) {
    let mut eve = client(server, "eve").await;
    for since in [None, Some(0)] {
        assert_eq!(
            try_join(&mut eve, "ops", since).await,
            Err(ErrorCode::Forbidden),
            "join since {since:?}, {when}"
        );
    }
    let refused = eve
        .ask(ClientMsg::Send {
            room: "ops".into(),
            text: "let me in".into(),
            client_id: Some(format!("e-{when}")),
            reply_to: None,
            files: Vec::new(),
        })
        .await;
    assert!(
        matches!(refused, Err(ErrorCode::NotJoined | ErrorCode::Forbidden)),
        "send, {when}: {refused:?}"
    );
    for path in [
        "/api/rooms/ops/messages?since=0",
        &format!("/api/rooms/ops/messages?before={}", seq + 1),
        &format!("/api/rooms/ops/threads/{seq}"),
        "/api/rooms/ops/members",
    ] {
        let (status, body) = call(server, "eve", "GET", path, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{path}, {when}: {body}"
        );
        assert!(!body.to_string().contains("zebra"), "{path}, {when}");
    }
    let (status, body) = call(
        server,
        "eve",
        "POST",
        "/api/rooms/ops/messages",
        Some(json!({"text": "hi"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "posting over HTTP, {when}"
    );
    assert_eq!(lists(server, "eve", "ops").await, None, "{when}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_room_is_closed_to_non_members_on_every_path_on_another_node() {
    let redis = Redis::start(Persistence::Off);
    let a = token_node(&redis).await;
    let b = token_node(&redis).await;

    // Node A: the room, its member, a message.
    let (status, body) = call(
        &a,
        "ada",
        "POST",
        "/api/rooms",
        Some(json!({"room": "ops", "private": true})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = call(
        &a,
        "ada",
        "PUT",
        "/api/rooms/ops/members/bob",
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, posted) = call(
        &a,
        "ada",
        "POST",
        "/api/rooms/ops/messages",
        Some(json!({"text": "launch codes zebra"})),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    let seq = posted["seq"].as_u64().expect("the message's seq");

    // Node B has not loaded the room: its access comes from Redis.
    refused_everywhere(&b, seq, "room not loaded on node B").await;

    // bob, a member, reads it on node B: resumed over WebSocket, paged, threaded, listed.
    let mut bob = client(&b, "bob").await;
    assert_eq!(
        try_join(&mut bob, "ops", Some(0)).await,
        Ok((Some(RoomRole::Member), true))
    );
    let m = bob.next_message().await;
    assert_eq!((m.seq, m.text.as_str()), (seq, "launch codes zebra"));
    for path in [
        "/api/rooms/ops/messages?since=0".to_owned(),
        format!("/api/rooms/ops/messages?before={}", seq + 1),
    ] {
        let (status, page) = call(&b, "bob", "GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(page.to_string().contains("launch codes zebra"), "{page}");
    }
    let (status, thread) = call(
        &b,
        "bob",
        "GET",
        &format!("/api/rooms/ops/threads/{seq}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{thread}");
    assert_eq!(thread["root"]["text"], "launch codes zebra");
    let (status, members) = call(&b, "bob", "GET", "/api/rooms/ops/members", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        members["members"],
        json!([{"user": "ada", "role": "owner"}, {"user": "bob", "role": "member"}])
    );
    let listed = lists(&b, "bob", "ops").await.expect("bob's list has ops");
    assert_eq!(listed["private"], true);

    // Node B now holds the room loaded (bob is in it): still closed to eve.
    refused_everywhere(&b, seq, "room loaded on node B").await;

    // bob posts over HTTP on node B; ada's socket on node A gets it.
    let mut ada = client(&a, "ada").await;
    assert_eq!(
        try_join(&mut ada, "ops", None).await,
        Ok((Some(RoomRole::Owner), true))
    );
    let (status, body) = call(
        &b,
        "bob",
        "POST",
        "/api/rooms/ops/messages",
        Some(json!({"text": "copy that"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let m = ada.next_message().await;
    assert_eq!((m.user.as_str(), m.text.as_str()), ("bob", "copy that"));
}
