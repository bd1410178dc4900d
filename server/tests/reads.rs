//! Read positions (`read` frames, `joined.read`), tested as a user with several tabs and devices
//! meets them, over real sockets:
//!
//! - a position moves forward only and never past the room's head; the move reaches the user's
//!   other tab in that room, and nobody else (not the tab that sent it, not another user);
//! - only a room the connection is in (a token's `rooms` claim, a conversation's members);
//! - a new tab is told its position in `joined.read`, also after a restart (a real `banter`
//!   process on a real SQLite file);
//! - with two nodes on a real `redis-server`, a move on one node reaches the user's tab on the
//!   other, and a tab opened there later is told the position.

mod common;

use banter_protocol::{ClientMsg, ErrorCode, ServerMsg};
use banter_testkit::{Client, Endpoint, Persistence, Redis, post};
use common::process::{cluster, start};
use common::{sign, sign_in, start_server, token_server};
use serde_json::json;

/// Joins `room` as `name`: `(head, read)` from `joined`.
async fn enter(c: &mut Client, room: &str, name: &str) -> (u64, u64) {
    c.send(&ClientMsg::Join {
        room: room.into(),
        name: name.into(),
        since: None,
        epoch: None,
        with: None,
    })
    .await;
    match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { head, read, .. } => (head, read),
        other => panic!("not joined: {other:?}"),
    }
}

/// A new connection of `name` in `room`: `(connection, head, read)`.
async fn tab(server: &impl Endpoint, room: &str, name: &str) -> (Client, u64, u64) {
    let mut c = Client::connect(server).await;
    let (head, read) = enter(&mut c, room, name).await;
    (c, head, read)
}

async fn read(c: &mut Client, room: &str, seq: u64) {
    c.send(&ClientMsg::Read {
        room: room.into(),
        seq,
    })
    .await;
}

/// The next `read` frame: `(room, seq)`.
async fn next_read(c: &mut Client) -> (String, u64) {
    match c.recv_until(|m| matches!(m, ServerMsg::Read { .. })).await {
        ServerMsg::Read { room, seq } => (room, seq),
        _ => unreachable!(),
    }
}

/// Sends a message with a `client_id` and reads up to its ack: panics if a `read` frame came
/// before it (everything queued for this connection earlier arrives before the ack).
async fn no_read_frame_before_my_ack(c: &mut Client, room: &str) {
    c.say(room, "still here", Some("probe")).await;
    let m = c
        .recv_until(|m| matches!(m, ServerMsg::Read { .. } | ServerMsg::Ack { .. }))
        .await;
    assert!(matches!(m, ServerMsg::Ack { .. }), "unexpected {m:?}");
}

async fn post_n(server: &impl Endpoint, room: &str, n: usize) {
    for i in 1..=n {
        let (status, _) = post(
            server,
            room,
            json!({"user": "bot", "text": format!("m{i}")}),
        )
        .await;
        assert_eq!(status, 201);
    }
}

#[tokio::test]
async fn a_position_moves_forward_only_and_reaches_the_other_tab_and_nobody_else() {
    let server = start_server().await;
    post_n(&server, "lobby", 5).await;
    let (mut laptop, head, read0) = tab(&server, "lobby", "ada").await;
    assert_eq!((head, read0), (5, 0), "never read: 0");
    let (mut phone, _, _) = tab(&server, "lobby", "ada").await;
    let (mut bob, _, _) = tab(&server, "lobby", "bob").await;

    read(&mut laptop, "lobby", 3).await;
    assert_eq!(next_read(&mut phone).await, ("lobby".into(), 3));
    // Backwards is ignored; past the head is capped at it.
    read(&mut laptop, "lobby", 2).await;
    read(&mut laptop, "lobby", 99).await;
    assert_eq!(next_read(&mut phone).await, ("lobby".into(), 5));

    no_read_frame_before_my_ack(&mut laptop, "lobby").await;
    no_read_frame_before_my_ack(&mut bob, "lobby").await;

    let (_tablet, _, read) = tab(&server, "lobby", "ada").await;
    assert_eq!(read, 5, "a new tab is told its position");
    let (_bob2, _, read) = tab(&server, "lobby", "bob").await;
    assert_eq!(read, 0, "positions are each user's own");
}

#[tokio::test]
async fn only_a_room_the_connection_is_in_and_only_its_members_hear() {
    let server = start_server().await;
    post_n(&server, "lobby", 2).await;
    let (mut ada, _, _) = tab(&server, "lobby", "ada").await;
    read(&mut ada, "elsewhere", 1).await;
    match ada
        .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::NotJoined),
        _ => unreachable!(),
    }
    // Ada's other tab is not in `lobby`: it is not told of a move there.
    let (mut other, _, _) = tab(&server, "other", "ada").await;
    read(&mut ada, "lobby", 2).await;
    let (mut again, _, read) = tab(&server, "lobby", "ada").await;
    assert_eq!(read, 2);
    no_read_frame_before_my_ack(&mut other, "other").await;
    no_read_frame_before_my_ack(&mut again, "lobby").await;
}

#[tokio::test]
async fn a_token_reads_only_the_rooms_it_allows() {
    const SECRET: &str = "a-test-secret-of-enough-length-0123456789";
    let server = token_server(SECRET).await;
    let mut ada = sign_in(&server, sign(SECRET, "ada", Some(&["ops"]))).await;
    let (head, _) = enter(&mut ada, "ops", "").await;
    assert_eq!(head, 0);
    read(&mut ada, "secret", 1).await;
    match ada
        .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::NotJoined),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_position_survives_a_restart() {
    let mut server = start(&[]).await;
    post_n(&server, "lobby", 4).await;
    let (mut laptop, _, _) = tab(&server, "lobby", "ada").await;
    let (mut phone, _, _) = tab(&server, "lobby", "ada").await;
    read(&mut laptop, "lobby", 3).await;
    assert_eq!(next_read(&mut phone).await, ("lobby".into(), 3));
    drop((laptop, phone));

    server.signal("TERM").await;
    assert!(server.wait().await.success());
    server.restart().await.expect("restarted");
    let (_, head, read) = tab(&server, "lobby", "ada").await;
    assert_eq!((head, read), (4, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_crosses_nodes() {
    let redis = Redis::start(Persistence::Off);
    let nodes = cluster(&redis, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    post_n(a, "lobby", 3).await;
    let (mut laptop, _, _) = tab(a, "lobby", "ada").await;
    let (mut phone, head, _) = tab(b, "lobby", "ada").await;
    assert_eq!(head, 3);

    read(&mut laptop, "lobby", 2).await;
    assert_eq!(next_read(&mut phone).await, ("lobby".into(), 2));
    let (_, _, read) = tab(b, "lobby", "ada").await;
    assert_eq!(read, 2);
    // A node where ada has no connection yet reads the position from Redis.
    let c = common::process::node(&redis, &[]).await;
    let (_, _, read) = tab(&c, "lobby", "ada").await;
    assert_eq!(read, 2);
}
