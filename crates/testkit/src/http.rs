//! The HTTP API as a bot uses it: post a message, read JSON, and collect a room's whole history.

use std::time::Duration;

use banter_protocol::ChatMessage;
use serde_json::Value;

use crate::{Endpoint, WAIT};

/// Posts to `room` over HTTP; returns the status and JSON body (`Null` if none). Panics if the
/// server cannot be reached.
pub async fn post(server: &impl Endpoint, room: &str, body: Value) -> (u16, Value) {
    post_within(server, room, body, WAIT).await.expect("post")
}

/// Posts `body` to `room` again and again, as a client retries while a node or its store comes
/// back, until it is stored (201); the stored message. Panics after [`WAIT`].
pub async fn post_stored(server: &impl Endpoint, room: &str, body: Value) -> Value {
    crate::retry(&format!("stored in {room}: {body}"), || async {
        match try_post(server, room, body.clone()).await {
            Ok((201, m)) => Some(m),
            _ => None,
        }
    })
    .await
}

/// [`post`] for a server that may be down: an error if it does not answer within 3 s.
pub async fn try_post(
    server: &impl Endpoint,
    room: &str,
    body: Value,
) -> Result<(u16, Value), reqwest::Error> {
    post_within(server, room, body, Duration::from_secs(3)).await
}

/// [`post`] with an error instead of a panic, after `timeout` at the most.
pub async fn post_within(
    server: &impl Endpoint,
    room: &str,
    body: Value,
    timeout: Duration,
) -> Result<(u16, Value), reqwest::Error> {
    let res = reqwest::Client::new()
        .post(server.http(&format!("/api/rooms/{room}/messages")))
        .timeout(timeout)
        .json(&body)
        .send()
        .await?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

/// `GET path`; returns the status and JSON body (`Null` if none).
pub async fn get_json(server: &impl Endpoint, path: &str) -> (u16, Value) {
    let res = reqwest::get(server.http(path)).await.expect("get");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `GET` with `Authorization: Bearer`; returns the status and JSON body.
pub async fn get_json_bearer(server: &impl Endpoint, path: &str, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(server.http(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A page of `room`'s history after `since` (up to 1,000): its messages and `complete`.
pub async fn page(server: &impl Endpoint, room: &str, since: u64) -> (Vec<ChatMessage>, bool) {
    let path = format!("/api/rooms/{room}/messages?since={since}&limit=1000");
    let (status, page) = get_json(server, &path).await;
    assert_eq!(status, 200, "GET {path}: {page}");
    (
        serde_json::from_value(page["messages"].clone()).expect("messages"),
        page["complete"].as_bool().expect("complete"),
    )
}

/// The names `GET /api/rooms` lists, in its order.
pub async fn room_names(server: &impl Endpoint) -> Vec<String> {
    let (status, rooms) = get_json(server, "/api/rooms").await;
    assert_eq!(status, 200, "GET /api/rooms: {rooms}");
    rooms["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["room"].as_str().map(str::to_owned))
        .collect()
}

/// Every message of `room`, paging forward with `since`.
pub async fn all_messages(server: &impl Endpoint, room: &str) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::new();
    loop {
        let (msgs, _) = page(server, room, out.last().map_or(0, |m| m.seq)).await;
        if msgs.is_empty() {
            return out;
        }
        out.extend(msgs);
    }
}
