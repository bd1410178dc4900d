//! Private conversations over real sockets and a real SQLite file: a `direct` is stored in the
//! conversation of its two users; only they can join it (by `with` or by its id), read it over
//! HTTP, post to it or resume it; it is listed by `GET /api/conversations`, never by
//! `GET /api/rooms`; it survives a restart and resumes exactly; a member who joined it gets
//! `message` frames, one who did not gets `direct` notices.

mod common;

use banter_protocol::{ClientMsg, DirectMessage, ServerMsg};
use common::*;
use serde_json::json;

const SECRET: &str = "conversations-test-secret-0123456789";

fn token(sub: &str) -> String {
    sign(SECRET, sub, None)
}

/// A connection signed in as `sub`.
async fn signed_in(server: &TestServer, sub: &str) -> Client {
    sign_in(server, token(sub)).await
}

fn join_with(with: &str, name: &str, since: Option<u64>) -> ClientMsg {
    ClientMsg::Join {
        room: String::new(),
        name: name.into(),
        since,
        epoch: None,
        with: Some(with.into()),
    }
}

fn join_room(room: &str, name: &str, since: Option<u64>, epoch: Option<String>) -> ClientMsg {
    ClientMsg::Join {
        room: room.into(),
        name: name.into(),
        since,
        epoch,
        with: None,
    }
}

fn direct(to: &str, text: &str, client_id: Option<&str>) -> ClientMsg {
    ClientMsg::Direct {
        to: to.into(),
        text: text.into(),
        client_id: client_id.map(Into::into),
    }
}

async fn next_direct(c: &mut Client) -> DirectMessage {
    match c.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
        ServerMsg::Direct(dm) => dm,
        _ => unreachable!(),
    }
}

/// The next `joined`: `(room, with, head, epoch)`.
async fn next_joined(c: &mut Client) -> (String, Option<String>, u64, String) {
    match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined {
            room,
            with,
            head,
            epoch,
            ..
        } => (room, with, head, epoch),
        other => panic!("expected joined, got {other:?}"),
    }
}

/// The next frame that is not presence: conversations deliver nothing else unasked.
async fn next_news(c: &mut Client) -> ServerMsg {
    c.recv_until(|m| !matches!(m, ServerMsg::Presence { .. }))
        .await
}

async fn post_bearer(
    server: &TestServer,
    room: &str,
    tok: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(server.http(&format!("/api/rooms/{room}/messages")))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn only_its_two_members_can_join_read_post_or_resume_a_conversation() {
    let server = token_server(SECRET).await;
    let mut ada = signed_in(&server, "ada").await;
    let mut bob = signed_in(&server, "bob").await;
    let mut eve = signed_in(&server, "eve").await;

    // A v1 `direct` is stored in the conversation: bob hears of it, ada gets her echo.
    ada.send(&direct("bob", "psst", Some("d1"))).await;
    let got = next_direct(&mut bob).await;
    let room = got.room.clone().expect("the direct names its conversation");
    assert!(room.starts_with("dm-"), "{room}");
    assert_eq!(
        (got.from.as_str(), got.to.as_str(), got.text.as_str()),
        ("ada", "bob", "psst")
    );
    assert_eq!((got.seq, got.client_id), (Some(1), None));
    let echo = next_direct(&mut ada).await;
    assert_eq!(
        (echo.seq, echo.client_id.as_deref(), echo.room.as_deref()),
        (Some(1), Some("d1"), Some(room.as_str()))
    );

    // eve can neither join it by id, nor resume it, nor read or post to it over HTTP.
    eve.send(&join_room(&room, "", None, None)).await;
    assert_eq!(eve.expect_error().await, "forbidden");
    eve.send(&join_room(&room, "", Some(0), None)).await;
    assert_eq!(eve.expect_error().await, "forbidden");
    eve.send(&ClientMsg::Send {
        room: room.clone(),
        text: "let me in".into(),
        client_id: None,
        reply_to: None,
        files: Vec::new(),
    })
    .await;
    assert_eq!(eve.expect_error().await, "not_joined");
    let path = format!("/api/rooms/{room}/messages");
    let (status, body) = get_json_bearer(&server, &path, &token("eve")).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = get_json_bearer(&server, &format!("{path}?user=ada"), &token("eve")).await;
    assert_eq!(status, 403, "a token cannot read as someone else");
    let (status, _) = post_bearer(&server, &room, &token("eve"), json!({"text": "hi"})).await;
    assert_eq!(status, 403);
    // `with: "bob"` takes eve to her own conversation with bob, not to ada's.
    eve.send(&join_with("bob", "", None)).await;
    let (eve_room, with, head, _) = next_joined(&mut eve).await;
    assert_ne!(eve_room, room);
    assert_eq!((with.as_deref(), head), (Some("bob"), 0));

    // bob reads it over HTTP, and resumes it from the start over WebSocket.
    let (status, page) = get_json_bearer(&server, &path, &token("bob")).await;
    assert_eq!(status, 200);
    assert_eq!(page["messages"][0]["text"], "psst");
    bob.send(&join_with("ada", "", Some(0))).await;
    let (joined_room, with, head, _) = next_joined(&mut bob).await;
    assert_eq!(
        (joined_room.as_str(), with.as_deref(), head),
        (room.as_str(), Some("ada"), 1)
    );
    assert_eq!(
        replay_bounds(bob.recv().await),
        (room.clone(), 1, 1, true),
        "the replay holds ada's message"
    );
    assert_eq!(message(&bob.recv().await).map(|m| m.seq), Some(1));

    // bob answers with an ordinary send: acked; ada, who has not joined, hears of it as a
    // `direct`; bob, who has, gets it as a `message` and no `direct`.
    bob.say(&room, "hi back", Some("b1")).await;
    assert_eq!(message(&next_news(&mut bob).await).map(|m| m.seq), Some(2));
    assert!(matches!(
        next_news(&mut bob).await,
        ServerMsg::Ack { seq: 2, .. }
    ));
    let dm = next_direct(&mut ada).await;
    assert_eq!(
        (dm.from.as_str(), dm.text.as_str(), dm.seq),
        ("bob", "hi back", Some(2))
    );
    // Once ada joins by id, she gets messages, not notices.
    ada.send(&join_room(&room, "", Some(2), None)).await;
    let (_, with, head, _) = next_joined(&mut ada).await;
    assert_eq!((with.as_deref(), head), (Some("bob"), 2));
    // Loaded now, with its members known: still closed to eve.
    eve.send(&join_room(&room, "", None, None)).await;
    assert_eq!(eve.expect_error().await, "forbidden");
    let (status, _) = post_bearer(&server, &room, &token("bob"), json!({"text": "third"})).await;
    assert_eq!(status, 201);
    match next_news(&mut ada).await {
        ServerMsg::Replay { from, to, .. } => assert_eq!((from, to), (3, 2), "an empty replay"),
        other => panic!("expected the replay bracket, got {other:?}"),
    }
    assert_eq!(
        message(&next_news(&mut ada).await).map(|m| (m.seq, m.text.clone())),
        Some((3, "third".into()))
    );

    // Listed for its members, never among rooms.
    let (_, list) = get_json_bearer(&server, "/api/conversations", &token("ada")).await;
    assert_eq!(
        list["conversations"],
        json!([{"room": room, "with": "bob", "head": 3, "ts": list["conversations"][0]["ts"]}])
    );
    assert!(list["conversations"][0]["ts"].as_u64().unwrap_or(0) > 0);
    let (_, list) = get_json_bearer(&server, "/api/conversations", &token("eve")).await;
    assert_eq!(
        list["conversations"],
        json!([]),
        "eve has written to no one"
    );
    let (_, rooms) = get_json_bearer(&server, "/api/rooms", &token("ada")).await;
    assert_eq!(rooms["rooms"], json!([]));
}

#[tokio::test]
async fn a_conversation_survives_a_restart_and_resumes_exactly() {
    let data = tempfile::tempdir().expect("a data directory");
    let dir = data.path().to_owned();
    let mut server = start_server_with(|c| c.data_dir = dir.clone()).await;
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    // bob is not connected: the messages wait for him in the conversation.
    for (i, text) in ["one", "two", "three"].into_iter().enumerate() {
        ada.send(&direct("bob", text, Some(&format!("c{i}")))).await;
        assert_eq!(next_direct(&mut ada).await.seq, Some(i as u64 + 1));
    }
    // A re-sent `client_id` is stored once and echoed with its first `seq`.
    ada.send(&direct("bob", "two", Some("c1"))).await;
    assert_eq!(next_direct(&mut ada).await.seq, Some(2));
    let room = conversation_of(&server, "ada").await;
    let (_, page) = get_json(&server, &format!("/api/rooms/{room}/messages?user=ada")).await;
    let epoch = page["epoch"].as_str().unwrap_or_default().to_owned();
    drop(ada);
    server.shutdown();
    let _ = (&mut server.handle).await;

    let server = start_server_with(|c| c.data_dir = dir.clone()).await;
    assert_eq!(conversation_of(&server, "bob").await, room);
    let (_, list) = get_json(&server, "/api/conversations?user=bob").await;
    assert_eq!(list["conversations"][0]["with"], "ada");
    assert_eq!(list["conversations"][0]["head"], 3);
    // bob saw seq 1 somewhere: resuming by id after the restart replays exactly 2..3.
    let mut bob = Client::connect(&server).await;
    bob.send(&join_room(&room, "bob", Some(1), Some(epoch)))
        .await;
    let (_, with, head, _) = next_joined(&mut bob).await;
    assert_eq!((with.as_deref(), head), (Some("ada"), 3));
    assert_eq!(replay_bounds(bob.recv().await), (room.clone(), 2, 3, true));
    let texts: Vec<String> = [bob.recv().await, bob.recv().await]
        .iter()
        .filter_map(|m| message(m).map(|m| m.text.clone()))
        .collect();
    assert_eq!(texts, ["two", "three"]);

    // Names are chosen freely in open mode, but a conversation still needs one of its names.
    let mut eve = Client::connect(&server).await;
    eve.send(&join_room(&room, "eve", None, None)).await;
    assert_eq!(eve.expect_error().await, "forbidden");
    let (status, _) = get_json(&server, &format!("/api/rooms/{room}/messages?user=eve")).await;
    assert_eq!(status, 403);
    let (status, _) = get_json(&server, &format!("/api/rooms/{room}/messages")).await;
    assert_eq!(status, 400, "open mode asks who reads");
    let (status, _) = post(&server, &room, json!({"user": "eve", "text": "hi"})).await;
    assert_eq!(status, 403);
    // A made-up `dm-` room is refused, not created.
    eve.send(&join_room("dm-general", "eve", None, None)).await;
    assert_eq!(eve.expect_error().await, "invalid_room");
}

/// The id of `user`'s only conversation, from `GET /api/conversations`.
async fn conversation_of(server: &TestServer, user: &str) -> String {
    let (status, list) = get_json(server, &format!("/api/conversations?user={user}")).await;
    assert_eq!(status, 200, "{list}");
    list["conversations"][0]["room"]
        .as_str()
        .expect("one conversation")
        .to_owned()
}

#[tokio::test]
async fn rooms_are_listed_however_many_conversations_there_are() {
    let server = start_server().await;
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    // More conversations than `GET /api/rooms` lists rooms.
    let n = banter_server::http::ROOMS_MAX + 1;
    for i in 0..n {
        ada.send(&direct(&format!("user-{i}"), "hi", None)).await;
    }
    for _ in 0..n {
        next_direct(&mut ada).await;
    }
    let (status, _) = post(&server, "zeta", json!({"user": "ada", "text": "last"})).await;
    assert_eq!(status, 201);
    assert_eq!(room_names(&server).await, ["lobby", "zeta"]);
    let (_, list) = get_json(&server, "/api/conversations?user=%20ada").await;
    assert_eq!(
        list["conversations"].as_array().map(Vec::len),
        Some(n.min(banter_server::http::CONVERSATIONS_MAX)),
        "the name is trimmed as everywhere else"
    );
}

#[tokio::test]
async fn a_dm_room_written_before_conversations_existed_is_renamed_not_inherited() {
    let data = tempfile::tempdir().expect("a data directory");
    let dir = data.path().to_owned();
    let mut server = start_server_with(|c| c.data_dir = dir.clone()).await;
    server.shutdown();
    let _ = (&mut server.handle).await;
    // What a schema-1 server let anyone do: write to a room named like ada and bob's
    // conversation.
    let planted = banter_server::hub::conversations::id("ada", "bob");
    {
        let db = rusqlite::Connection::open(dir.join("banter.db")).expect("open");
        db.execute(
            "INSERT INTO rooms (name, head) VALUES (?1, 1)",
            rusqlite::params![planted],
        )
        .expect("room");
        db.execute(
            "INSERT INTO messages (room_id, seq, id, user, text, ts)
             VALUES (last_insert_rowid(), 1, 'x', 'ada', 'send me your password', 1)",
            [],
        )
        .expect("message");
        db.pragma_update(None, "user_version", 1).expect("version");
    }
    let server = start_server_with(|c| c.data_dir = dir.clone()).await;
    let mut bob = Client::connect(&server).await;
    bob.send(&join_with("ada", "bob", Some(0))).await;
    let (room, _, head, _) = next_joined(&mut bob).await;
    assert_eq!((room.as_str(), head), (planted.as_str(), 0));
    let (_, rooms) = get_json(&server, "/api/rooms").await;
    assert_eq!(rooms["rooms"][0]["room"], format!("legacy-{planted}"));
}
