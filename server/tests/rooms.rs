//! Private rooms, roles and moderation (v1.2, issue 18), as users meet them over real sockets
//! on a token server with its SQLite file: a non-member is refused on every path into a private
//! room (WebSocket join and resume, HTTP pages since and before, threads, search and `in:`,
//! posting, the room list, the conversation list, the members list, metrics); a member's socket
//! sees a mute (posting refused), a removal and a ban (`removed`, then nothing more from the
//! room); every moderation action is an entry of the room, replayed in order on resume; a
//! group conversation of four; a private room's files reach only its members.
//! `rooms_cluster.rs` does the removal across two nodes, `rooms_cluster_paths.rs` the closed
//! paths on another node of a Redis cluster.

mod common;

use banter_protocol::{ChangeKind, ClientMsg, ErrorCode, RoomRole, ServerMsg};
use banter_testkit::{Client, Endpoint, WAIT, retry};
use common::rooms::{SECRET, call, client, join, refused_everywhere, try_join};
use common::{TestServer, sign, token_server};
use serde_json::{Value, json};

fn send(room: &str, text: &str, cid: &str) -> ClientMsg {
    ClientMsg::Send {
        room: room.into(),
        text: text.into(),
        client_id: Some(cid.into()),
        reply_to: None,
        files: Vec::new(),
    }
}

/// Joins and returns `joined`'s `role` and `private`.
async fn joined(c: &mut Client, room: &str) -> (Option<RoomRole>, bool) {
    try_join(c, room, None)
        .await
        .unwrap_or_else(|code| panic!("not joined: {code:?}"))
}

/// The error code a `join` gets.
async fn join_refused(c: &mut Client, room: &str, since: Option<u64>) -> ErrorCode {
    try_join(c, room, since)
        .await
        .expect_err("expected a refusal")
}

/// The next moderation entry on `c`'s socket (skipping presence, acks and messages).
async fn next_moderation(c: &mut Client) -> (ChangeKind, String) {
    match c
        .recv_until(|m| matches!(m, ServerMsg::Change(ch) if ch.kind.is_moderation()))
        .await
    {
        ServerMsg::Change(ch) => (ch.kind, ch.text.unwrap_or_default()),
        _ => unreachable!(),
    }
}

/// Makes `room` (private or not) as `owner`; the room answers `201`.
async fn create(server: &TestServer, owner: &str, room: &str, private: bool) {
    let (status, body) = call(
        server,
        owner,
        "POST",
        "/api/rooms",
        Some(json!({"room": room, "private": private})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn moderate(server: &TestServer, actor: &str, method: &str, path: &str) -> u16 {
    let body = path
        .contains("/members/")
        .then(|| json!({"role": "member"}));
    call(server, actor, method, path, body).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_room_is_closed_to_non_members_on_every_path() {
    let server = token_server(SECRET).await;
    create(&server, "ada", "ops", true).await;
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/members/bob").await,
        201
    );
    let mut bob = client(&server, "bob").await;
    assert_eq!(
        joined(&mut bob, "ops").await,
        (Some(RoomRole::Member), true)
    );
    let seq = bob
        .ask(send("ops", "launch codes zebra", "b1"))
        .await
        .expect("posted");
    assert!(seq > 0);

    let mut eve = client(&server, "eve").await;
    refused_everywhere(&server, &mut eve, seq, "zebra", "one node").await;
    for (method, path) in [
        ("PATCH", format!("/api/rooms/ops/messages/{seq}")),
        ("DELETE", format!("/api/rooms/ops/messages/{seq}")),
        (
            "PUT",
            format!("/api/rooms/ops/messages/{seq}/reactions/%F0%9F%91%8D"),
        ),
    ] {
        let body = (method == "PATCH").then(|| json!({"text": "mine now"}));
        let (status, _) = call(&server, "eve", method, &path, body).await;
        assert_eq!(status, 403, "{method} {path}");
    }
    let (status, _) = call(&server, "eve", "PUT", "/api/rooms/ops/bans/bob", None).await;
    assert_eq!(status, 403, "a non-member moderates nothing");

    // Search: bob finds it once indexed; eve never, by words or by `in:`.
    retry("bob finds his message", || async {
        let (_, found) = call(&server, "bob", "GET", "/api/search?q=zebra", None).await;
        (found["results"].as_array().map(Vec::len) == Some(1)).then_some(())
    })
    .await;
    for q in ["zebra", "in:ops", "in:ops%20zebra", "launch"] {
        let (status, found) =
            call(&server, "eve", "GET", &format!("/api/search?q={q}"), None).await;
        assert_eq!(status, 200);
        assert_eq!(found["results"], json!([]), "eve searching {q}");
    }

    // Listings: the room is bob's, never eve's.
    let (_, rooms) = call(&server, "bob", "GET", "/api/rooms", None).await;
    let ops = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == "ops");
    assert_eq!(
        ops.map(|r| r["private"].clone()),
        Some(json!(true)),
        "{rooms}"
    );
    let (_, rooms) = call(&server, "eve", "GET", "/api/rooms", None).await;
    assert!(!rooms.to_string().contains("\"ops\""), "{rooms}");
    let (_, convs) = call(&server, "eve", "GET", "/api/conversations", None).await;
    assert!(!convs.to_string().contains("ops"), "{convs}");
    let metrics = reqwest::get(format!("http://{}/metrics", server.addr()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(!metrics.contains("ops"), "no room names in metrics labels");
    let (status, members) = call(&server, "bob", "GET", "/api/rooms/ops/members", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        members["members"],
        json!([{"user": "ada", "role": "owner"}, {"user": "bob", "role": "member"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sees_mute_removal_and_ban_take_effect() {
    let server = token_server(SECRET).await;
    create(&server, "ada", "ops", true).await;
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/members/bob").await,
        201
    );
    let mut ada = client(&server, "ada").await;
    assert_eq!(joined(&mut ada, "ops").await, (Some(RoomRole::Owner), true));
    let mut bob = client(&server, "bob").await;
    joined(&mut bob, "ops").await;

    // Mute: bob reads but may not post; unmuted, he posts again.
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/mutes/bob").await,
        201
    );
    assert_eq!(
        next_moderation(&mut bob).await,
        (ChangeKind::Mute, "bob".into())
    );
    assert_eq!(
        bob.ask(send("ops", "hello?", "b1")).await,
        Err(ErrorCode::Forbidden)
    );
    ada.ask(send("ops", "you are muted", "a1"))
        .await
        .expect("posted");
    assert_eq!(bob.next_message().await.text, "you are muted");
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/mutes/bob").await,
        200,
        "no change"
    );
    assert_eq!(
        moderate(&server, "ada", "DELETE", "/api/rooms/ops/mutes/bob").await,
        201
    );
    assert_eq!(
        next_moderation(&mut bob).await,
        (ChangeKind::Unmute, "bob".into())
    );
    bob.ask(send("ops", "thanks", "b2"))
        .await
        .expect("posted again");

    // Removal: the entry, then `removed`, then nothing more from the room.
    assert_eq!(
        moderate(&server, "bob", "DELETE", "/api/rooms/ops/members/ada").await,
        403
    );
    assert_eq!(
        moderate(&server, "ada", "DELETE", "/api/rooms/ops/members/bob").await,
        201
    );
    assert_eq!(
        next_moderation(&mut bob).await,
        (ChangeKind::Remove, "bob".into())
    );
    match bob.recv().await {
        ServerMsg::Removed { room } => assert_eq!(room, "ops"),
        other => panic!("expected removed, got {other:?}"),
    }
    ada.ask(send("ops", "after bob left", "a2"))
        .await
        .expect("posted");
    assert_eq!(
        bob.ask(send("ops", "still here?", "b3")).await,
        Err(ErrorCode::Forbidden)
    );
    bob.send(&join("ops", Some(0))).await;
    // Everything bob receives after `removed` up to the refused resume: nothing from the room.
    let mut after = Vec::new();
    loop {
        match bob.recv().await {
            ServerMsg::Error { code, .. } => {
                assert_eq!(code, ErrorCode::Forbidden);
                break;
            }
            other => after.push(other),
        }
    }
    assert!(
        !after
            .iter()
            .any(|m| matches!(m, ServerMsg::Message(_) | ServerMsg::Change(_))),
        "{after:?}"
    );

    // A ban in a public room: removed, and kept out.
    create(&server, "ada", "town", false).await;
    let mut cy = client(&server, "cy").await;
    assert_eq!(joined(&mut cy, "town").await, (None, false));
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/town/bans/cy").await,
        201
    );
    assert_eq!(
        next_moderation(&mut cy).await,
        (ChangeKind::Ban, "cy".into())
    );
    assert!(matches!(cy.recv().await, ServerMsg::Removed { room } if room == "town"));
    assert_eq!(
        join_refused(&mut cy, "town", None).await,
        ErrorCode::Forbidden
    );
    let (status, _) = call(&server, "cy", "GET", "/api/rooms/town/messages", None).await;
    assert_eq!(status, 403);
    let (_, members) = call(&server, "ada", "GET", "/api/rooms/town/members", None).await;
    assert_eq!(members["banned"], json!(["cy"]));
    assert_eq!(
        moderate(&server, "ada", "DELETE", "/api/rooms/town/bans/cy").await,
        201
    );
    cy.send(&join("town", Some(0))).await;
    let replay = cy
        .recv_until(|m| matches!(m, ServerMsg::Replay { .. } | ServerMsg::Error { .. }))
        .await;
    match replay {
        ServerMsg::Replay { from, .. } => assert_eq!(from, 1, "the ban is lifted: a fresh join"),
        other => panic!("expected a replay, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_entries_are_replayed_in_order_on_resume() {
    let server = token_server(SECRET).await;
    create(&server, "ada", "ops", true).await;
    for (method, path) in [
        ("PUT", "/api/rooms/ops/members/bob"),
        ("PUT", "/api/rooms/ops/members/cy"),
        ("PUT", "/api/rooms/ops/mutes/cy"),
        ("DELETE", "/api/rooms/ops/members/cy"),
        ("PUT", "/api/rooms/ops/bans/eve"),
    ] {
        assert_eq!(
            moderate(&server, "ada", method, path).await,
            201,
            "{method} {path}"
        );
    }
    let (status, _) = call(
        &server,
        "ada",
        "PUT",
        "/api/rooms/ops/members/bob",
        Some(json!({"role": "moderator"})),
    )
    .await;
    assert_eq!(status, 201);
    let mut bob = client(&server, "bob").await;
    bob.send(&join("ops", Some(0))).await;
    let mut seen = Vec::new();
    let mut seqs = Vec::new();
    while seen.len() < 8 {
        if let ServerMsg::Change(c) = bob.recv().await {
            seqs.push(c.seq);
            seen.push((c.kind, c.text.unwrap_or_default()));
        }
    }
    let want = [
        (ChangeKind::Private, ""),
        (ChangeKind::Owner, "ada"),
        (ChangeKind::Member, "bob"),
        (ChangeKind::Member, "cy"),
        (ChangeKind::Mute, "cy"),
        (ChangeKind::Remove, "cy"),
        (ChangeKind::Ban, "eve"),
        (ChangeKind::Moderator, "bob"),
    ];
    let want: Vec<(ChangeKind, String)> = want.iter().map(|(k, t)| (*k, t.to_string())).collect();
    assert_eq!(seen, want);
    assert_eq!(seqs, (1..=8).collect::<Vec<u64>>(), "gap-free, in order");
    let (_, page) = call(
        &server,
        "bob",
        "GET",
        "/api/rooms/ops/messages?since=0",
        None,
    )
    .await;
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(8));
    // bob, a moderator now, may not remove the owner, but deletes a member's message.
    assert_eq!(
        moderate(&server, "bob", "DELETE", "/api/rooms/ops/members/ada").await,
        403
    );
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/members/dee").await,
        201
    );
    let mut dee = client(&server, "dee").await;
    joined(&mut dee, "ops").await;
    let seq = dee.ask(send("ops", "oops", "d1")).await.expect("posted");
    let path = format!("/api/rooms/ops/messages/{seq}");
    let (status, _) = call(&server, "bob", "DELETE", &path, None).await;
    assert_eq!(status, 201, "a moderator deletes anyone's message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_conversation_of_four() {
    let server = token_server(SECRET).await;
    // bob's page is open before the group is made: it hears of it at once.
    let mut bob = client(&server, "bob").await;
    let (status, made) = call(
        &server,
        "ada",
        "POST",
        "/api/conversations",
        Some(json!({"members": ["dee", "bob", "cy"]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["members"], json!(["ada", "bob", "cy", "dee"]));
    let room = made["room"].as_str().expect("an id").to_owned();
    assert!(room.starts_with("grp-"), "{room}");
    match bob
        .recv_until(|m| matches!(m, ServerMsg::Added { .. }))
        .await
    {
        ServerMsg::Added { room: r, by } => assert_eq!((r.as_str(), by.as_str()), (&*room, "ada")),
        _ => unreachable!(),
    }
    drop(bob);
    let (status, again) = call(
        &server,
        "dee",
        "POST",
        "/api/conversations",
        Some(json!({"members": ["cy", "ada", "bob"]})),
    )
    .await;
    assert_eq!((status, again["room"].as_str()), (200, Some(room.as_str())));

    let mut people = Vec::new();
    for name in ["ada", "bob", "cy", "dee"] {
        let mut c = client(&server, name).await;
        assert_eq!(joined(&mut c, &room).await, (Some(RoomRole::Member), true));
        people.push(c);
    }
    people[2]
        .ask(send(&room, "lunch at noon?", "c1"))
        .await
        .expect("cy posts");
    // (cy's own copy came before its ack.)
    for (i, c) in people.iter_mut().enumerate().filter(|(i, _)| *i != 2) {
        assert_eq!(c.next_message().await.text, "lunch at noon?", "member {i}");
    }
    let mut eve = client(&server, "eve").await;
    assert_eq!(
        join_refused(&mut eve, &room, Some(0)).await,
        ErrorCode::Forbidden
    );
    for name in ["ada", "dee"] {
        let (_, list) = call(&server, name, "GET", "/api/conversations", None).await;
        let found = list["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["room"] == room.as_str())
            .cloned();
        let found = found.unwrap_or_else(|| panic!("{name}'s list: {list}"));
        assert_eq!(found["members"], json!(["ada", "bob", "cy", "dee"]));
        assert!(found["head"].as_u64() > Some(0));
    }
    let (_, list) = call(&server, "eve", "GET", "/api/conversations", None).await;
    assert!(!list.to_string().contains(&room));
    let (_, rooms) = call(&server, "ada", "GET", "/api/rooms", None).await;
    assert!(!rooms.to_string().contains(&room), "groups are not rooms");
    let (status, _) = call(
        &server,
        "ada",
        "POST",
        "/api/conversations",
        Some(json!({"members": ["b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9"]})),
    )
    .await;
    assert_eq!(
        status, 400,
        "ten people is one too many (--max-conversation-members)"
    );
    // Nobody plants a group's room before it is made.
    let planted = format!("grp-{}", "0".repeat(32));
    assert_eq!(
        join_refused(&mut eve, &planted, None).await,
        ErrorCode::Forbidden
    );
}

/// An owner makes a public room private, then public again: whoever is in it at that moment
/// stays (made a member, each with an entry) and an outsider is refused until it is public
/// again; a moderator may not switch it, nor anyone a group; someone added to the private room
/// hears of it at once (`added`), before joining.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_made_private_keeps_who_is_in_it_and_public_again_lets_anyone_in() {
    let server = token_server(SECRET).await;
    create(&server, "ada", "town", false).await;
    let mut bob = client(&server, "bob").await;
    assert_eq!(joined(&mut bob, "town").await, (None, false));
    let moderator = Some(json!({"role": "moderator"}));
    let (status, _) = call(
        &server,
        "ada",
        "PUT",
        "/api/rooms/town/members/mo",
        moderator,
    )
    .await;
    assert_eq!(status, 201);
    let privacy = |private: bool| Some(json!({ "private": private }));
    let (status, _) = call(&server, "mo", "PATCH", "/api/rooms/town", privacy(true)).await;
    assert_eq!(status, 403, "only owners and admins switch a room");
    // ada's token for another room only: it acts in that room alone.
    let status = reqwest::Client::new()
        .patch(server.http("/api/rooms/town"))
        .bearer_auth(sign(SECRET, "ada", Some(&["elsewhere"])))
        .json(&json!({"private": true}))
        .send()
        .await
        .expect("an answer")
        .status();
    assert_eq!(status, 403, "a token limited to other rooms");

    let (status, body) = call(&server, "ada", "PATCH", "/api/rooms/town", privacy(true)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(next_moderation(&mut bob).await.0, ChangeKind::Moderator);
    assert_eq!(
        next_moderation(&mut bob).await,
        (ChangeKind::Member, "bob".to_owned())
    );
    assert_eq!(next_moderation(&mut bob).await.0, ChangeKind::Private);
    bob.ask(send("town", "still here", "b1"))
        .await
        .expect("bob, in the room when it went private, is a member and posts");
    let mut eve = client(&server, "eve").await;
    assert_eq!(
        join_refused(&mut eve, "town", None).await,
        ErrorCode::Forbidden
    );
    let (_, rooms) = call(&server, "eve", "GET", "/api/rooms", None).await;
    assert!(!rooms.to_string().contains("town"), "{rooms}");
    let (status, _) = call(&server, "ada", "PATCH", "/api/rooms/town", privacy(true)).await;
    assert_eq!(status, 200, "already private: nothing recorded");

    let mut cy = client(&server, "cy").await;
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/town/members/cy").await,
        201
    );
    match cy
        .recv_until(|m| matches!(m, ServerMsg::Added { .. }))
        .await
    {
        ServerMsg::Added { room, by } => assert_eq!((room.as_str(), by.as_str()), ("town", "ada")),
        _ => unreachable!(),
    }
    assert_eq!(
        joined(&mut cy, "town").await,
        (Some(RoomRole::Member), true)
    );

    let (status, _) = call(&server, "ada", "PATCH", "/api/rooms/town", privacy(false)).await;
    assert_eq!(status, 201);
    assert_eq!(next_moderation(&mut bob).await.0, ChangeKind::Member);
    assert_eq!(next_moderation(&mut bob).await.0, ChangeKind::Public);
    assert_eq!(joined(&mut eve, "town").await, (None, false));
    let (_, rooms) = call(&server, "eve", "GET", "/api/rooms", None).await;
    assert!(rooms.to_string().contains("town"), "{rooms}");

    let (_, group) = call(
        &server,
        "ada",
        "POST",
        "/api/conversations",
        Some(json!({"members": ["bob", "cy"]})),
    )
    .await;
    let path = format!("/api/rooms/{}", group["room"].as_str().expect("a group"));
    let (status, _) = call(&server, "ada", "PATCH", &path, privacy(false)).await;
    assert_eq!(status, 400, "a group conversation stays private");
}

/// `--auth accounts`: a server admin (made with `banter user add --role admin` beside the
/// running server) reads and moderates a private room without being a member of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_admin_may_do_everything_in_any_room() {
    let server = common::start_server_with(|c| {
        c.auth = banter_server::config::AuthKind::Accounts;
        c.auth_secret = Some(SECRET.into());
        c.accounts.argon2_memory_kib = 256;
        c.accounts.argon2_iterations = 1;
        c.accounts.accounts_poll = std::time::Duration::from_millis(50);
    })
    .await;
    create(&server, "ada", "ops", true).await;
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/members/bob").await,
        201
    );
    let (status, _) = call(&server, "root", "GET", "/api/rooms/ops/messages", None).await;
    assert_eq!(status, 403, "not an admin yet");
    let dir = server.data.path().display().to_string();
    let mut add = common::process::banter()
        .args([
            "--data-dir",
            &dir,
            "--argon2-memory-kib",
            "256",
            "--argon2-iterations",
            "1",
        ])
        .args(["user", "add", "root", "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("banter user add");
    {
        use tokio::io::AsyncWriteExt;
        let mut input = add.stdin.take().expect("stdin");
        input
            .write_all(b"root-password-1\n")
            .await
            .expect("written");
    }
    assert!(add.wait().await.expect("ran").success());
    // The server takes the new admin in within --accounts-poll.
    retry("root is an admin", || async {
        let (status, _) = call(&server, "root", "GET", "/api/rooms/ops/messages", None).await;
        (status == 200).then_some(())
    })
    .await;
    let mut root = client(&server, "root").await;
    assert_eq!(
        joined(&mut root, "ops").await,
        (None, true),
        "an admin joins without a role"
    );
    assert_eq!(
        moderate(&server, "root", "PUT", "/api/rooms/ops/mutes/bob").await,
        201
    );
    let (_, rooms) = call(&server, "root", "GET", "/api/rooms", None).await;
    assert!(rooms.to_string().contains("\"ops\""), "{rooms}");
}

/// Files are a path into a room too: a private room's member uploads and reads its files; a
/// non-member can neither upload there nor read them (`404`, as for a file that does not
/// exist), and a muted member cannot upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_rooms_files_reach_only_its_members() {
    let server = token_server(SECRET).await;
    create(&server, "ada", "ops", true).await;
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/members/bob").await,
        201
    );
    let upload = |user: &str| {
        let url = format!("http://{}/api/rooms/ops/files?name=plan.txt", server.addr());
        let token = sign(SECRET, user, None);
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "text/plain")
                .body("the launch plan")
                .timeout(WAIT)
                .send()
                .await
                .expect("the server answers");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, file) = upload("bob").await;
    assert_eq!(status, 201, "{file}");
    let id = file["id"].as_str().expect("an id").to_owned();
    let get = |user: &str, path: String| {
        let url = format!("http://{}{path}", server.addr());
        let token = sign(SECRET, user, None);
        async move {
            let res = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .timeout(WAIT)
                .send()
                .await
                .expect("the server answers");
            (res.status().as_u16(), res.text().await.unwrap_or_default())
        }
    };
    let path = format!("/api/files/{id}");
    assert_eq!(
        get("bob", path.clone()).await,
        (200, "the launch plan".into())
    );
    assert_eq!(get("ada", path.clone()).await.0, 200, "the owner reads it");
    let (status, body) = get("eve", path.clone()).await;
    assert_eq!(status, 404, "a non-member: {body}");
    assert!(!body.contains("launch"));
    assert_eq!(get("eve", format!("{path}/thumb")).await.0, 404);
    assert_eq!(upload("eve").await.0, 403, "a non-member may not upload");
    assert_eq!(
        moderate(&server, "ada", "PUT", "/api/rooms/ops/mutes/bob").await,
        201
    );
    assert_eq!(upload("bob").await.0, 403, "a muted member may not upload");
}
