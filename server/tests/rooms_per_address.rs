//! One client address against `--max-rooms` (issue 20, item 4): an address holding many
//! sockets that each join many rooms is stopped at `--max-rooms-per-ip` distinct rooms, so
//! another user can still join a room that is not loaded, and their own conversation. And
//! `--store memory` forgets rooms nobody is in instead of refusing new rooms for ever.

mod common;

use std::net::{IpAddr, SocketAddr};

use banter_protocol::{ClientMsg, ErrorCode, ServerMsg};
use common::*;
use serde_json::json;
use tokio::net::TcpSocket;

/// A client whose socket comes from `from` (any 127.x.y.z is this machine).
async fn connect_from(server: &TestServer, from: [u8; 4]) -> Client {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::from(from), 0))
        .expect("bind the source address");
    let tcp = socket.connect(server.addr).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(
        server.ws_url(),
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
    )
    .await
    .expect("upgrade");
    let mut c = Client { ws };
    assert!(matches!(c.recv().await, ServerMsg::Welcome { .. }));
    c
}

/// The answer to a join: the room joined, or the error's code.
async fn answer(c: &mut Client) -> Result<String, ErrorCode> {
    match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { room, .. } => Ok(room),
        ServerMsg::Error { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn one_address_cannot_load_every_room() {
    let server = start_server_with(|c| {
        c.max_rooms = 60;
        c.max_rooms_per_ip = 25;
        c.max_rooms_per_connection = 10;
    })
    .await;
    // One address, six sockets, ten rooms each: 60 rooms asked for, 25 loaded.
    let mut flood = Vec::new();
    let mut joined = 0;
    for s in 0..6 {
        let mut c = connect_from(&server, [127, 0, 0, 1]).await;
        for r in 0..10 {
            c.send(&join_msg(&format!("flood-{s}-{r}"), &format!("f{s}")))
                .await;
            match answer(&mut c).await {
                Ok(_) => joined += 1,
                Err(code) => assert_eq!(code, ErrorCode::InvalidRoom),
            }
        }
        flood.push(c);
    }
    assert_eq!(joined, 25);
    // Another tab of the same address may still join a room the address is in.
    let mut tab = connect_from(&server, [127, 0, 0, 1]).await;
    tab.send(&join_msg("flood-0-0", "f9")).await;
    assert_eq!(answer(&mut tab).await, Ok("flood-0-0".into()));

    // Someone else: a room nobody has loaded, and a conversation.
    let mut ada = connect_from(&server, [127, 0, 0, 2]).await;
    ada.send(&join_msg("fresh", "ada")).await;
    assert_eq!(answer(&mut ada).await, Ok("fresh".into()));
    ada.send(&ClientMsg::Join {
        room: String::new(),
        name: "ada".into(),
        since: None,
        epoch: None,
        with: Some("bob".into()),
    })
    .await;
    let conversation = answer(&mut ada).await.expect("the conversation is joined");
    assert!(conversation.starts_with("dm-"), "{conversation}");

    // Leaving gives the address its rooms back.
    let mut first = flood.remove(0);
    for r in 0..10 {
        first
            .send(&ClientMsg::Leave {
                room: format!("flood-0-{r}"),
            })
            .await;
    }
    first.send(&join_msg("after-leaving", "f0")).await;
    assert_eq!(answer(&mut first).await, Ok("after-leaving".into()));
}

#[tokio::test]
async fn the_memory_store_forgets_rooms_nobody_is_in() {
    let server = start_server_with(|c| {
        c.store = "memory".into();
        c.max_rooms = 5;
    })
    .await;
    post(&server, "room-0", json!({"user": "ada", "text": "first"})).await;
    let (_, before) = get_json(&server, "/api/rooms/room-0/messages").await;
    for i in 1..20 {
        let room = format!("room-{i}");
        let (status, body) = post(&server, &room, json!({"user": "ada", "text": "hi"})).await;
        assert_eq!(status, 201, "{room}: {body}");
    }
    let (_, rooms) = get_json(&server, "/api/rooms").await;
    assert_eq!(rooms["rooms"].as_array().map(Vec::len), Some(5), "{rooms}");
    // room-0 was forgotten and is written again: its seq 1 is another message, in another
    // epoch, so a client that saw the first one is told its history is gone.
    let (status, again) = post(&server, "room-0", json!({"user": "ada", "text": "again"})).await;
    assert_eq!((status, &again["seq"]), (201, &json!(1)));
    let (_, after) = get_json(&server, "/api/rooms/room-0/messages").await;
    assert_eq!(after["messages"][0]["text"], "again");
    assert_ne!(before["epoch"], after["epoch"]);
}
