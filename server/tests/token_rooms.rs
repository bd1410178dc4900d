//! A token's `rooms` claim everywhere it applies (issue 20, item 7): a renewed token with a
//! narrower claim takes the connection out of the rooms it no longer allows (nothing from them
//! reaches it, `send` there is refused), and `GET /api/rooms` filters by the claim before it
//! cuts the list, so rooms a restricted user may read are never hidden behind others.

mod common;

use banter_protocol::{ClientMsg, ErrorCode, ServerMsg};
use common::*;
use serde_json::json;

const SECRET: &str = "token-rooms-test-secret-0123456789abcdef";

fn token(sub: &str, rooms: Option<&[&str]>) -> String {
    sign(SECRET, sub, rooms)
}

async fn error_code(c: &mut Client) -> ErrorCode {
    match c.recv_until(|m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { code, .. } => code,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_renewed_token_with_fewer_rooms_leaves_the_others() {
    let server = token_server(SECRET).await;
    let mut ada = sign_in(&server, token("ada", Some(&["open", "secret"]))).await;
    for room in ["open", "secret"] {
        ada.send(&join_msg(room, "")).await;
        ada.recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
            .await;
    }
    ada.send(&ClientMsg::Auth {
        token: token("ada", Some(&["open"])),
    })
    .await;
    assert_eq!(error_code(&mut ada).await, ErrorCode::Forbidden);
    ada.recv_until(|m| matches!(m, ServerMsg::Authenticated { .. }))
        .await;
    // `send` to the room it left is refused, and nothing of it reaches the connection.
    ada.say("secret", "still here?", Some("c1")).await;
    assert_eq!(error_code(&mut ada).await, ErrorCode::NotJoined);
    let (status, _) = post_as(&server, "secret", "bob", "not for ada").await;
    assert_eq!(status, 201);
    let (status, _) = post_as(&server, "open", "bob", "for everyone").await;
    assert_eq!(status, 201);
    let m = ada.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
    let m = message(&m).expect("a message");
    assert_eq!((m.room.as_str(), m.text.as_str()), ("open", "for everyone"));
    // Joining it again is refused too.
    ada.send(&join_msg("secret", "")).await;
    assert_eq!(error_code(&mut ada).await, ErrorCode::Forbidden);
}

/// Posts `text` to `room` as `user` with `user`'s unrestricted token.
async fn post_as(
    server: &TestServer,
    room: &str,
    user: &str,
    text: &str,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(server.http(&format!("/api/rooms/{room}/messages")))
        .bearer_auth(token(user, None))
        .json(&json!({ "text": text }))
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn the_room_list_is_filtered_by_the_claim_before_it_is_cut() {
    let server = token_server(SECRET).await;
    // More rooms than the list shows, all named before the restricted user's room.
    let n = banter_server::http::ROOMS_MAX + 5;
    let mut bob = sign_in(&server, token("bob", None)).await;
    bob.send(&join_msg("a-0000", "")).await;
    bob.recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await;
    for i in 0..n {
        let (status, _) = post_as(&server, &format!("a-{i:04}"), "bob", "hi").await;
        assert_eq!(status, 201);
    }
    let (status, _) = post_as(&server, "zz-team", "bob", "hi").await;
    assert_eq!(status, 201);
    let (_, all) = get_json_bearer(&server, "/api/rooms", &token("bob", None)).await;
    assert_eq!(
        all["rooms"].as_array().map(Vec::len),
        Some(banter_server::http::ROOMS_MAX)
    );
    let mine = token("ada", Some(&["zz-team", "a-0000", "nowhere"]));
    let (status, list) = get_json_bearer(&server, "/api/rooms", &mine).await;
    assert_eq!(status, 200);
    let rooms: Vec<(&str, u64)> = list["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .map(|r| {
            (
                r["room"].as_str().unwrap_or(""),
                r["users"].as_u64().unwrap_or(9),
            )
        })
        .collect();
    assert_eq!(rooms, [("a-0000", 1), ("zz-team", 0)]);
}
