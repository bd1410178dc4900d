//! A user's whole session over real sockets: chat, HTTP posts, history and replay, shutdown.

mod common;

use banter_protocol::{ClientMsg, PresenceState, ServerMsg};
use common::*;
use serde_json::json;

#[tokio::test]
async fn two_clients_chat_with_acks_and_presence() {
    let server = start_server().await;
    let mut ada = Client::connect(&server).await;
    let (users, head) = ada.join("lobby", "ada").await;
    assert_eq!((users, head), (vec!["ada".to_string()], 0));

    let mut bob = Client::connect(&server).await;
    let (users, _) = bob.join("lobby", "bob").await;
    assert_eq!(users, vec!["ada".to_string(), "bob".to_string()]);
    match ada.recv().await {
        ServerMsg::Presence { user, state, .. } => {
            assert_eq!((user.as_str(), state), ("bob", PresenceState::Joined))
        }
        other => panic!("expected presence, got {other:?}"),
    }

    ada.say("lobby", "  hello bob  ", Some("c1")).await;
    let seen_by_bob = bob.recv().await;
    let m = message(&seen_by_bob).expect("message").clone();
    assert_eq!(
        (m.room.as_str(), m.seq, m.user.as_str(), m.text.as_str()),
        ("lobby", 1, "ada", "hello bob")
    );
    assert!(!m.id.is_empty() && m.ts > 1_600_000_000_000);
    assert_eq!(
        ada.recv().await,
        seen_by_bob,
        "the sender sees the very same message"
    );
    assert_eq!(
        ada.recv().await,
        ServerMsg::Ack {
            client_id: "c1".into(),
            room: "lobby".into(),
            seq: 1
        }
    );

    bob.say("lobby", "hi ada", None).await;
    let reply = ada.recv().await;
    assert_eq!(
        message(&reply).map(|m| (m.seq, m.user.as_str())),
        Some((2, "bob"))
    );

    // Direct messages reach the recipient and the sender, and no one else.
    let mut eve = Client::connect(&server).await;
    eve.join("lobby", "eve").await;
    ada.send(&ClientMsg::Direct {
        to: "bob".into(),
        text: "psst".into(),
        client_id: Some("d1".into()),
    })
    .await;
    let got = bob.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await;
    let ServerMsg::Direct(dm) = got else {
        unreachable!()
    };
    assert_eq!(
        (dm.from.as_str(), dm.to.as_str(), dm.text.as_str()),
        ("ada", "bob", "psst")
    );
    assert_eq!(
        dm.client_id, None,
        "the recipient does not see the sender's client_id"
    );
    let echo = ada.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await;
    let ServerMsg::Direct(echo) = echo else {
        unreachable!()
    };
    assert_eq!((echo.id, echo.client_id.as_deref()), (dm.id, Some("d1")));

    // Typing is relayed to the others; leaving is announced.
    bob.send(&ClientMsg::Typing {
        room: "lobby".into(),
    })
    .await;
    let typing = ada
        .recv_until(|m| {
            matches!(
                m,
                ServerMsg::Presence {
                    state: PresenceState::Typing,
                    ..
                }
            )
        })
        .await;
    assert!(matches!(typing, ServerMsg::Presence { user, .. } if user == "bob"));
    bob.send(&ClientMsg::Leave {
        room: "lobby".into(),
    })
    .await;
    let left = ada
        .recv_until(|m| {
            matches!(
                m,
                ServerMsg::Presence {
                    state: PresenceState::Left,
                    ..
                }
            )
        })
        .await;
    assert!(matches!(left, ServerMsg::Presence { user, .. } if user == "bob"));
    bob.say("lobby", "am I still here?", None).await;
    assert_eq!(bob.expect_error().await, "not_joined");
}

#[tokio::test]
async fn an_http_post_is_pushed_to_every_member_and_listed_in_order() {
    let server = start_server().await;
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    let mut bob = Client::connect(&server).await;
    bob.join("lobby", "bob").await;
    ada.recv().await; // bob's presence

    let (status, body) = post(
        &server,
        "lobby",
        json!({"user": "deploy-bot", "text": "v1 is live"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["seq"], 1);
    assert_eq!(body["room"], "lobby");
    for c in [&mut ada, &mut bob] {
        let m = c.recv().await;
        let m = message(&m).expect("pushed message");
        assert_eq!(
            (m.seq, m.user.as_str(), m.text.as_str()),
            (1, "deploy-bot", "v1 is live")
        );
        assert_eq!(m.id, body["id"].as_str().unwrap());
    }
    ada.say("lobby", "nice", None).await;
    post(
        &server,
        "lobby",
        json!({"user": "deploy-bot", "text": "v2 is live"}),
    )
    .await;

    let (status, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(page["complete"], true);
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=1&limit=1").await;
    assert_eq!(page["messages"][0]["text"], "nice");

    let (status, rooms) = get_json(&server, "/api/rooms").await;
    assert_eq!(status, 200);
    assert_eq!(
        rooms,
        json!({"rooms": [{"room": "lobby", "head": 3, "users": 2}]})
    );
    let (status, health) = get_json(&server, "/healthz").await;
    assert_eq!(
        (status, &health["status"], &health["connections"]),
        (200, &json!("ok"), &json!(2))
    );
}

#[tokio::test]
async fn join_with_since_replays_exactly_what_was_missed() {
    let server = start_server().await;
    for i in 1..=5 {
        post(
            &server,
            "ops",
            json!({"user": "bot", "text": format!("m{i}")}),
        )
        .await;
    }
    let mut c = Client::connect(&server).await;
    c.send(&ClientMsg::Join {
        room: "ops".into(),
        name: "ada".into(),
        since: Some(0),
        epoch: None,
        with: None,
    })
    .await;
    assert!(matches!(c.recv().await, ServerMsg::Joined { head: 5, .. }));
    assert_eq!(
        replay_bounds(c.recv().await),
        ("ops".to_owned(), 1, 5, true)
    );
    for seq in 1..=5 {
        assert_eq!(message(&c.recv().await).map(|m| m.seq), Some(seq));
    }

    let mut d = Client::connect(&server).await;
    d.send(&ClientMsg::Join {
        room: "ops".into(),
        name: "bob".into(),
        since: Some(3),
        epoch: None,
        with: None,
    })
    .await;
    d.recv().await; // joined
    assert_eq!(
        replay_bounds(d.recv().await),
        ("ops".to_owned(), 4, 5, true)
    );
    assert_eq!(message(&d.recv().await).map(|m| m.seq), Some(4));
    assert_eq!(message(&d.recv().await).map(|m| m.seq), Some(5));
    // Then live traffic, with nothing doubled.
    post(&server, "ops", json!({"user": "bot", "text": "live"})).await;
    assert_eq!(message(&d.recv().await).map(|m| m.seq), Some(6));

    // Up to date: an empty replay.
    let mut e = Client::connect(&server).await;
    e.send(&ClientMsg::Join {
        room: "ops".into(),
        name: "eve".into(),
        since: Some(6),
        epoch: None,
        with: None,
    })
    .await;
    e.recv().await;
    assert_eq!(
        replay_bounds(e.recv().await),
        ("ops".to_owned(), 7, 6, true)
    );
}

#[tokio::test]
async fn replay_says_incomplete_when_retention_deleted_what_was_missed() {
    replay_says_incomplete_when_history_no_longer_holds_everything(|c| c.retain_messages = 3).await;
}

#[tokio::test]
async fn replay_says_incomplete_when_the_memory_store_no_longer_holds_everything() {
    replay_says_incomplete_when_history_no_longer_holds_everything(|c| {
        c.store = "memory".into();
        c.history = 3;
    })
    .await;
}

async fn replay_says_incomplete_when_history_no_longer_holds_everything(
    tune: impl FnOnce(&mut banter_server::Config),
) {
    let server = start_server_with(tune).await;
    for i in 1..=5 {
        post(
            &server,
            "lobby",
            json!({"user": "bot", "text": format!("m{i}")}),
        )
        .await;
    }
    let mut c = Client::connect(&server).await;
    c.send(&ClientMsg::Join {
        room: "lobby".into(),
        name: "ada".into(),
        since: Some(1),
        epoch: None,
        with: None,
    })
    .await;
    c.recv().await;
    assert_eq!(
        replay_bounds(c.recv().await),
        ("lobby".to_owned(), 3, 5, false)
    );
    for seq in 3..=5 {
        assert_eq!(message(&c.recv().await).map(|m| m.seq), Some(seq));
    }
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    assert_eq!(page["complete"], false);
    assert_eq!(page["messages"].as_array().unwrap().len(), 3);
    // A `since` from a previous life of the room (ahead of head) gets everything, incomplete.
    let mut d = Client::connect(&server).await;
    d.send(&ClientMsg::Join {
        room: "lobby".into(),
        name: "bob".into(),
        since: Some(99),
        epoch: None,
        with: None,
    })
    .await;
    d.recv().await;
    assert_eq!(
        replay_bounds(d.recv().await),
        ("lobby".to_owned(), 3, 5, false)
    );
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1001_and_returns() {
    let mut server = start_server().await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut c = Client::connect(&server).await;
        c.join("lobby", &format!("u{i}")).await;
        clients.push(c);
    }
    let mut classic = Client::connect_raw(&format!("ws://{}/", server.addr)).await;
    server.shutdown();
    for c in &mut clients {
        assert_eq!(c.expect_close().await, 1001);
    }
    assert_eq!(classic.expect_close().await, 1001);
    let done = tokio::time::timeout(WAIT, &mut server.handle).await;
    assert!(
        matches!(done, Ok(Ok(Ok(())))),
        "run() returns after shutdown: {done:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(server.addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn a_classic_client_and_a_typed_client_see_each_other() {
    let server = start_server().await;
    let mut typed = Client::connect(&server).await;
    typed.join("lobby", "ada").await;
    let mut classic = Client::connect_raw(&format!("ws://{}/", server.addr)).await;

    classic
        .send_raw(r#"{"user":"old-page","message":"hello from the past"}"#)
        .await;
    let m = typed.recv().await;
    let m = message(&m).expect("message");
    assert_eq!(
        (m.user.as_str(), m.text.as_str(), m.room.as_str()),
        ("old-page", "hello from the past", "lobby")
    );
    let echo: serde_json::Value = serde_json::from_str(&classic.recv_text().await).unwrap();
    assert_eq!(
        echo,
        json!({"user": "old-page", "message": "hello from the past"})
    );

    typed.say("lobby", "hello from the future", None).await;
    let got: serde_json::Value = serde_json::from_str(&classic.recv_text().await).unwrap();
    assert_eq!(
        got,
        json!({"user": "ada", "message": "hello from the future"})
    );

    // A plain GET / (no upgrade) serves a page.
    let res = reqwest::get(server.http("/")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}
