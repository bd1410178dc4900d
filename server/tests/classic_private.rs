//! Classic clients (`{user, message}` on `/`, always in `lobby`, with no name) and private
//! rooms: they have no name to be a member by, so when `lobby` is made private (an owner made
//! it with `POST /api/rooms`) their connections are closed, and nothing of the room reaches
//! them any more.

mod common;

use banter_testkit::{WAIT, post};
use common::start_server;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The next text frame, or `None` once the connection is closed.
async fn next(ws: &mut banter_testkit::Ws) -> Option<Value> {
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame or the end");
        match m {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).expect("JSON")),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_client_is_closed_when_lobby_goes_private() {
    let server = start_server().await;
    let http = reqwest::Client::new();
    let made = http
        .post(format!("http://{}/api/rooms?user=ada", server.addr))
        .json(&json!({"room": "lobby"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(made.status(), 201);
    let url = format!("ws://{}/", server.addr);
    let (mut classic, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    // In the room once the first message reaches it.
    let first = post(&server, "lobby", json!({"user": "ada", "text": "one"})).await;
    assert_eq!(first.0, 201);
    assert_eq!(
        next(&mut classic).await,
        Some(json!({"user": "ada", "message": "one"}))
    );
    let switched = http
        .patch(format!("http://{}/api/rooms/lobby?user=ada", server.addr))
        .json(&json!({"private": true}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(switched.status(), 201);
    let secret = post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "members only"}),
    )
    .await;
    assert_eq!(secret.0, 201);
    while let Some(frame) = next(&mut classic).await {
        assert_ne!(
            frame["message"], "members only",
            "a classic client reads nothing of a private room"
        );
    }
}
