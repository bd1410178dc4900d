//! A private room is closed to non-members on every path on another node of a cluster (v1.2,
//! issue 18; `rooms.rs` checks the same paths on one node with its SQLite file): two `banter`
//! processes in token mode share a real `redis-server`; the room is made, a member added and a
//! message posted on node A. On node B a non-member is refused on WebSocket join with and
//! without `since`, `send`, `GET .../messages` (`since` and `before`), `GET .../threads/{seq}`,
//! `GET .../members` and posting over HTTP, and never sees the room in `GET /api/rooms`: first
//! while node B has not loaded the room (its access read from Redis), then while a member holds
//! it loaded there. The member on node B reads it all.

mod common;

use banter_protocol::{ClientMsg, ErrorCode, RoomRole};
use banter_testkit::{Banter, Persistence, Redis};
use common::process::node;
use common::rooms::{SECRET, call, client, lists, refused_everywhere, try_join};
use serde_json::json;

/// A node in token mode (tokens signed with [`SECRET`]) on `redis`.
async fn token_node(redis: &Redis) -> Banter {
    node(redis, &["--auth", "token", "--auth-secret", SECRET]).await
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
    let mut eve = client(&b, "eve").await;
    refused_everywhere(&b, &mut eve, seq, "zebra", "room not loaded on node B").await;

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
    let mut eve = client(&b, "eve").await;
    refused_everywhere(&b, &mut eve, seq, "zebra", "room loaded on node B").await;

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

/// An owner on node A, where nobody is in the room, makes it private while bob reads it on
/// node B: bob stays (made a member through the cluster's record of who is present), posts,
/// and an outsider on node B is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_made_private_on_one_node_keeps_who_is_in_it_on_another() {
    let redis = Redis::start(Persistence::Off);
    let a = token_node(&redis).await;
    let b = token_node(&redis).await;
    let made = call(
        &a,
        "ada",
        "POST",
        "/api/rooms",
        Some(json!({"room": "town"})),
    )
    .await;
    assert_eq!(made.0, 201, "{}", made.1);
    let mut bob = client(&b, "bob").await;
    assert_eq!(try_join(&mut bob, "town", None).await, Ok((None, false)));
    banter_testkit::retry("node B records bob as present", || async {
        let names: Vec<String> = redis
            .cmd(redis::cmd("HKEYS").arg("banter:r:{town}:present"))
            .unwrap_or_default();
        names.iter().any(|f| f.ends_with("\nbob")).then_some(())
    })
    .await;

    let privacy = Some(json!({"private": true}));
    let (status, body) = call(&a, "ada", "PATCH", "/api/rooms/town", privacy).await;
    assert_eq!(status, 201, "{body}");
    bob.ask(ClientMsg::Send {
        room: "town".into(),
        text: "still reading".into(),
        client_id: Some("b1".into()),
        reply_to: None,
        files: Vec::new(),
    })
    .await
    .expect("bob, present on node B when it went private, is a member and posts");
    let mut eve = client(&b, "eve").await;
    assert_eq!(
        try_join(&mut eve, "town", None).await,
        Err(ErrorCode::Forbidden)
    );
}
