//! Helpers of `rooms.rs` and `rooms_cluster_paths.rs` (private rooms over a token server, one
//! node or two on Redis): requests and sockets signed as a user, joins, and the one list of
//! paths a non-member must find closed.

use banter_protocol::{ClientMsg, ErrorCode, RoomRole, ServerMsg};
use banter_testkit::{Client, Endpoint, WAIT};
use serde_json::{Value, json};

use super::sign;

/// The token secret of every server these tests start.
pub const SECRET: &str = "rooms-test-secret-of-at-least-32-bytes";

/// An HTTP request as `user` (a bearer token), with an optional JSON body: status and answer.
pub async fn call(
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
pub async fn client(server: &impl Endpoint, user: &str) -> Client {
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

pub fn join(room: &str, since: Option<u64>) -> ClientMsg {
    ClientMsg::Join {
        room: room.into(),
        name: String::new(),
        since,
        epoch: None,
        with: None,
    }
}

/// `joined`'s `role` and `private`, or the error code a `join` gets.
pub async fn try_join(
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
pub async fn lists(server: &impl Endpoint, user: &str, room: &str) -> Option<Value> {
    let (status, rooms) = call(server, user, "GET", "/api/rooms", None).await;
    assert_eq!(status, 200, "{rooms}");
    rooms["rooms"]
        .as_array()
        .expect("a list of rooms")
        .iter()
        .find(|r| r["room"] == room)
        .cloned()
}

/// Every path of `eve` (a socket of hers), a non-member, into the private room `ops` on
/// `server` is refused: joins with and without `since`, a send, its pages, a thread, its
/// members, posting over HTTP, the room list; `seq` is a message of it, whose text holds
/// `secret`, never in an answer.
pub async fn refused_everywhere(
    server: &impl Endpoint,
    eve: &mut Client,
    seq: u64,
    secret: &str,
    when: &str,
) {
    for since in [None, Some(0)] {
        assert_eq!(
            try_join(eve, "ops", since).await,
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
        assert!(!body.to_string().contains(secret), "{path}, {when}");
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
