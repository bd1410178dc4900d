//! Messages that live (v1.2), tested as users meet them, over real sockets: edits, deletions,
//! reactions and replies over WebSocket and HTTP, with their rules; `change` frames live and on
//! resume, each exactly once, in `seq` order with messages; classic clients see new messages
//! only; a deleted message's text is gone from every file of the data directory after the
//! checkpoint, and stays gone across a `kill -9` restart; with Redis, a change made on one
//! node reaches a member on another live and a client resuming there (also after a `kill -9`
//! of the node it was made on); the limits, each with its flag, over both paths.

mod common;

use banter_protocol::{Change, ChangeKind, ChatMessage, ClientMsg, ErrorCode, ServerMsg};
use banter_testkit::{Client, Endpoint, Persistence, Redis, WAIT, get_json, post, wait_until};
use common::process::{cluster, start};
use common::start_server;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// An HTTP request with an optional JSON body; the status and the JSON answer.
async fn call(
    server: &impl Endpoint,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("http://{}{}", server.addr(), path);
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut req = reqwest::Client::new().request(method, url).timeout(WAIT);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn edit(seq: u64, text: &str, cid: &str) -> ClientMsg {
    ClientMsg::Edit {
        room: "lobby".into(),
        seq,
        text: text.into(),
        client_id: Some(cid.into()),
    }
}

fn delete(seq: u64, cid: &str) -> ClientMsg {
    ClientMsg::Delete {
        room: "lobby".into(),
        seq,
        client_id: Some(cid.into()),
    }
}

fn react(seq: u64, emoji: &str, remove: bool, cid: &str) -> ClientMsg {
    ClientMsg::React {
        room: "lobby".into(),
        seq,
        emoji: emoji.into(),
        remove,
        client_id: Some(cid.into()),
    }
}

fn send(text: &str, reply_to: Option<u64>, cid: &str) -> ClientMsg {
    ClientMsg::Send {
        room: "lobby".into(),
        text: text.into(),
        client_id: Some(cid.into()),
        reply_to,
        files: Vec::new(),
    }
}

async fn next_change(c: &mut Client) -> Change {
    match c.recv_until(|m| matches!(m, ServerMsg::Change(_))).await {
        ServerMsg::Change(ch) => ch,
        _ => unreachable!(),
    }
}

/// The next `message` or `change`, skipping presence and acks.
async fn next_entry(c: &mut Client) -> ServerMsg {
    c.recv_until(|m| matches!(m, ServerMsg::Message(_) | ServerMsg::Change(_)))
        .await
}

fn seq_of(m: &ServerMsg) -> u64 {
    match m {
        ServerMsg::Message(m) => m.seq,
        ServerMsg::Change(c) => c.seq,
        other => panic!("not an entry: {other:?}"),
    }
}

/// A new client resuming `lobby` after `since`: every entry up to `to`, in order.
async fn resumed(server: &impl Endpoint, since: u64, to: u64) -> Vec<ServerMsg> {
    let mut c = Client::connect(server).await;
    let (_, (_, _, head, complete)) = c.resume("lobby", since, None).await;
    assert!(complete && head >= to);
    let mut out = Vec::new();
    while out.last().is_none_or(|m| seq_of(m) < to) {
        out.push(next_entry(&mut c).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_websocket_the_rules_hold_and_changes_arrive_in_order_once() {
    let server = start_server().await;
    let (mut ada, mut bob) = (
        Client::connect(&server).await,
        Client::connect(&server).await,
    );
    let mut cy = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    bob.join("lobby", "bob").await;
    cy.join("lobby", "cy").await;
    assert_eq!(ada.ask(send("helo", None, "a1")).await, Ok(1));
    assert_eq!(
        bob.ask(edit(1, "mine now", "b1")).await,
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(ada.ask(edit(1, "hello", "a2")).await, Ok(2));
    let seen = next_change(&mut bob).await;
    assert_eq!((seen.seq, seen.target, seen.kind), (2, 1, ChangeKind::Edit));
    assert_eq!(seen.text.as_deref(), Some("hello"));
    assert_eq!(bob.ask(react(1, "👍", false, "b2")).await, Ok(3));
    assert_eq!(
        bob.ask(react(1, "👍", false, "b3")).await,
        Ok(0),
        "stores nothing"
    );
    assert_eq!(ada.ask(edit(2, "x", "a3")).await, Err(ErrorCode::NotFound));
    assert_eq!(bob.ask(delete(1, "b4")).await, Err(ErrorCode::Forbidden));
    assert_eq!(ada.ask(send("root", None, "a4")).await, Ok(4));
    assert_eq!(ada.ask(delete(1, "a5")).await, Ok(5));
    assert_eq!(
        ada.ask(edit(1, "again", "a6")).await,
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        bob.ask(react(1, "🎉", false, "b5")).await,
        Err(ErrorCode::NotFound)
    );
    assert_eq!(bob.ask(send("first", Some(4), "b6")).await, Ok(6));
    assert_eq!(ada.ask(send("second", Some(6), "a7")).await, Ok(7));
    assert_eq!(
        ada.ask(send("lost", Some(99), "a8")).await,
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        ada.ask(delete(1, "a5")).await,
        Ok(5),
        "a repeated client_id"
    );

    // A client that missed all of it gets each entry once, in order, messages as they are now.
    let all = resumed(&server, 0, 7).await;
    assert_eq!(
        all.iter().map(seq_of).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    let ServerMsg::Message(first) = &all[0] else {
        panic!("{:?}", all[0])
    };
    assert!(first.deleted && first.text.is_empty() && first.reactions.is_empty());
    let ServerMsg::Change(edited) = &all[1] else {
        panic!("{:?}", all[1])
    };
    assert_eq!(
        edited.text, None,
        "the deleted message's edit lost its text"
    );
    let ServerMsg::Message(root) = &all[3] else {
        panic!("{:?}", all[3])
    };
    assert_eq!(root.replies, Some(2));
    let ServerMsg::Message(second) = &all[6] else {
        panic!("{:?}", all[6])
    };
    assert_eq!(
        second.reply_to,
        Some(4),
        "a reply to a reply joins the root's thread"
    );
    // One that saw up to 1 gets the changes after it.
    let after = resumed(&server, 1, 7).await;
    assert_eq!(
        after.iter().map(seq_of).collect::<Vec<_>>(),
        (2..=7).collect::<Vec<_>>()
    );
}

/// The next JSON text frame of a raw WebSocket.
async fn next(ws: &mut banter_testkit::Ws) -> Value {
    loop {
        let m = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame");
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = m {
            return serde_json::from_str::<Value>(&t).expect("JSON");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_client_sees_new_messages_only() {
    let server = start_server().await;
    let url = format!("ws://{}/", server.addr);
    let (mut classic, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    // The classic client is in the room once the first message reaches it.
    let first = post(&server, "lobby", json!({"user": "ada", "text": "one"})).await;
    assert_eq!(first.0, 201);
    assert_eq!(
        next(&mut classic).await,
        json!({"user": "ada", "message": "one"})
    );
    assert_eq!(ada.ask(edit(1, "uno", "e")).await, Ok(2));
    assert_eq!(ada.ask(react(1, "👍", false, "r")).await, Ok(3));
    assert_eq!(ada.ask(send("two", Some(1), "s")).await, Ok(4));
    assert_eq!(
        next(&mut classic).await,
        json!({"user": "ada", "message": "two"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_the_routes_change_fold_and_page() {
    let server = start_server().await;
    let (s, m) = post(&server, "lobby", json!({"user": "ada", "text": "helo"})).await;
    assert_eq!((s, m["seq"].clone()), (201, json!(1)));
    let path = "/api/rooms/lobby/messages/1";
    let (s, e) = call(
        &server,
        "PATCH",
        &format!("{path}?user=bob"),
        Some(json!({"text": "x"})),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")));
    let (s, e) = call(
        &server,
        "PATCH",
        &format!("{path}?user=ada"),
        Some(json!({"text": "hello"})),
    )
    .await;
    assert_eq!((s, e), (201, json!({"room": "lobby", "seq": 2})));
    let thumbs = format!("{path}/reactions/%F0%9F%91%8D?user=bob");
    assert_eq!(call(&server, "PUT", &thumbs, None).await.0, 201);
    assert_eq!(
        call(&server, "PUT", &thumbs, None).await,
        (200, json!({"room": "lobby", "seq": 0}))
    );
    let party = format!("{path}/reactions/%F0%9F%8E%89?user=cy");
    assert_eq!(call(&server, "PUT", &party, None).await.0, 201);
    assert_eq!(call(&server, "DELETE", &party, None).await.0, 201);
    let (s, r) = post(
        &server,
        "lobby",
        json!({"user": "bob", "text": "re", "reply_to": 1}),
    )
    .await;
    assert_eq!((s, r["reply_to"].clone()), (201, json!(1)));
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    let m = &page["messages"][0];
    assert_eq!(
        (m["text"].as_str(), m["replies"].clone()),
        (Some("hello"), json!(1))
    );
    assert!(m["edited_ts"].as_u64().is_some());
    assert_eq!(m["reactions"], json!([{"emoji": "👍", "users": ["bob"]}]));
    let kinds: Vec<&str> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["edit", "react", "react", "unreact"]);
    let (s, thread) = get_json(&server, "/api/rooms/lobby/threads/1").await;
    assert_eq!(
        (s, thread["replies"][0]["text"].as_str()),
        (200, Some("re"))
    );
    let last = thread["replies"][0]["seq"].as_u64().expect("a reply's seq");
    let after = format!("/api/rooms/lobby/threads/1?after={last}");
    let (s, rest) = get_json(&server, &after).await;
    assert_eq!(
        (s, rest["replies"].clone()),
        (200, json!([])),
        "nothing after it"
    );
    assert_eq!(
        get_json(&server, "/api/rooms/lobby/threads/99").await.0,
        404
    );
    assert_eq!(
        call(&server, "DELETE", &format!("{path}?user=bob"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        call(&server, "DELETE", &format!("{path}?user=ada"), None)
            .await
            .0,
        201
    );
    assert_eq!(
        call(
            &server,
            "PATCH",
            &format!("{path}?user=ada"),
            Some(json!({"text": "z"}))
        )
        .await
        .0,
        404
    );
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    assert_eq!(page["messages"][0]["deleted"], json!(true));
    assert_eq!(page["messages"][0]["text"], json!(""));
    assert!(page["messages"][0].get("reactions").is_none());
}

/// Whether any file of `dir` holds `needle`.
fn any_file_holds(dir: &std::path::Path, needle: &str) -> bool {
    std::fs::read_dir(dir)
        .expect("the data directory")
        .any(|f| {
            let bytes = std::fs::read(f.expect("an entry").path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_text_leaves_the_data_directory_and_a_restart_resumes_exactly() {
    let mut server = start(&[]).await;
    let dir = server.data_dir().expect("a data directory").to_owned();
    let (kept, secret, edited) = ("kept-words-5521", "zebra-secret-8841", "okapi-secret-1177");
    post(&server, "lobby", json!({"user": "ada", "text": kept})).await;
    post(&server, "lobby", json!({"user": "ada", "text": secret})).await;
    let patch = Some(json!({"text": edited}));
    assert_eq!(
        call(
            &server,
            "PATCH",
            "/api/rooms/lobby/messages/2?user=ada",
            patch
        )
        .await
        .0,
        201
    );
    let thumbs = "/api/rooms/lobby/messages/2/reactions/%F0%9F%A6%93?user=bob";
    assert_eq!(call(&server, "PUT", thumbs, None).await.0, 201);
    wait_until("the texts are on disk", || any_file_holds(&dir, edited)).await;
    assert_eq!(
        call(
            &server,
            "DELETE",
            "/api/rooms/lobby/messages/2?user=ada",
            None
        )
        .await
        .0,
        201
    );
    wait_until("the deleted texts are gone from every file", || {
        !any_file_holds(&dir, secret)
            && !any_file_holds(&dir, edited)
            && !any_file_holds(&dir, "🦓")
    })
    .await;
    assert!(
        any_file_holds(&dir, kept),
        "what was not deleted is still there"
    );

    server.kill9();
    server.restart().await.expect("restarted");
    assert!(!any_file_holds(&dir, secret) && !any_file_holds(&dir, edited));
    let all = resumed(&server, 1, 5).await;
    assert_eq!(all.iter().map(seq_of).collect::<Vec<_>>(), [2, 3, 4, 5]);
    let ServerMsg::Message(gone) = &all[0] else {
        panic!("{:?}", all[0])
    };
    assert!(gone.deleted && gone.text.is_empty());
    let ServerMsg::Change(c) = &all[3] else {
        panic!("{:?}", all[3])
    };
    assert_eq!((c.kind, c.target), (ChangeKind::Delete, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_change_on_one_node_reaches_another_live_and_on_resume() {
    let redis = Redis::start(Persistence::Off);
    let nodes = cluster(&redis, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut watcher = Client::connect(b).await;
    watcher.join("lobby", "watcher").await;
    assert_eq!(
        post(a, "lobby", json!({"user": "ada", "text": "helo"}))
            .await
            .0,
        201
    );
    let m: ChatMessage = match next_entry(&mut watcher).await {
        ServerMsg::Message(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.seq, 1);
    let patch = Some(json!({"text": "hello"}));
    assert_eq!(
        call(a, "PATCH", "/api/rooms/lobby/messages/1?user=ada", patch)
            .await
            .0,
        201
    );
    let thumbs = "/api/rooms/lobby/messages/1/reactions/%F0%9F%91%8D?user=bob";
    assert_eq!(call(a, "PUT", thumbs, None).await.0, 201);
    assert_eq!(call(a, "PUT", thumbs, None).await.1["seq"], json!(0));
    assert_eq!(next_change(&mut watcher).await.kind, ChangeKind::Edit);
    assert_eq!(next_change(&mut watcher).await.kind, ChangeKind::React);
    // The edit on node A, then a race of deletes on both nodes: exactly one is stored.
    let (x, y) = tokio::join!(
        call(a, "DELETE", "/api/rooms/lobby/messages/1?user=ada", None),
        call(b, "DELETE", "/api/rooms/lobby/messages/1?user=ada", None)
    );
    let mut codes = [x.0, y.0];
    codes.sort();
    assert_eq!(codes, [201, 404], "the second delete finds a tombstone");
    let all = resumed(b, 0, 4).await;
    assert_eq!(all.iter().map(seq_of).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let ServerMsg::Message(gone) = &all[0] else {
        panic!("{:?}", all[0])
    };
    assert!(gone.deleted && gone.text.is_empty() && gone.reactions.is_empty());
    let (_, page) = get_json(a, "/api/rooms/lobby/messages?since=0").await;
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(3));
    // A client that saw the message on node A and resumes on node B gets each change once.
    let kinds = |entries: &[ServerMsg]| -> Vec<(u64, ChangeKind)> {
        entries
            .iter()
            .map(|m| match m {
                ServerMsg::Change(c) => (c.seq, c.kind),
                other => panic!("not a change: {other:?}"),
            })
            .collect()
    };
    assert_eq!(
        kinds(&resumed(b, 1, 4).await),
        [
            (2, ChangeKind::Edit),
            (3, ChangeKind::React),
            (4, ChangeKind::Delete)
        ]
    );
    // Node A killed: a client that had seen up to the edit resumes on node B.
    let mut nodes = nodes;
    nodes[0].kill9();
    assert_eq!(
        kinds(&resumed(&nodes[1], 2, 4).await),
        [(3, ChangeKind::React), (4, ChangeKind::Delete)]
    );
}

/// The lifecycle's limits over both paths, each with its flag: edits per message, reactions
/// per message, an emoji's length (and what an emoji may not hold); an edit keeps the message's
/// id, user and time, and marks when it was edited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limits_hold_over_websocket_and_http_and_an_edit_keeps_who_and_when() {
    let server = start(&[
        "--max-edits",
        "1",
        "--max-reactions",
        "1",
        "--max-emoji-bytes",
        "4",
    ])
    .await;
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    assert_eq!(ada.ask(send("helo", None, "a1")).await, Ok(1));
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    let before = page["messages"][0].clone();
    assert_eq!(ada.ask(edit(1, "hello", "a2")).await, Ok(2));
    assert_eq!(
        ada.ask(edit(1, "hello!", "a3")).await,
        Err(ErrorCode::TooLarge),
        "--max-edits 1"
    );
    let patch = Some(json!({"text": "hello?"}));
    let path = "/api/rooms/lobby/messages/1?user=ada";
    assert_eq!(call(&server, "PATCH", path, patch).await.0, 413);
    assert_eq!(
        ada.ask(react(1, "👍🏽", false, "a4")).await,
        Err(ErrorCode::TooLarge),
        "8 bytes: over --max-emoji-bytes 4"
    );
    assert_eq!(
        ada.ask(react(1, "a b", false, "a5")).await,
        Err(ErrorCode::BadRequest),
        "no spaces in an emoji"
    );
    assert_eq!(ada.ask(react(1, "👍", false, "a6")).await, Ok(3));
    assert_eq!(
        ada.ask(react(1, "🎉", false, "a7")).await,
        Err(ErrorCode::TooLarge),
        "--max-reactions 1"
    );
    let party = "/api/rooms/lobby/messages/1/reactions/%F0%9F%8E%89?user=bob";
    assert_eq!(call(&server, "PUT", party, None).await.0, 413);

    let (_, page) = get_json(&server, "/api/rooms/lobby/messages?since=0").await;
    let after = &page["messages"][0];
    assert_eq!(after["text"], json!("hello"));
    for field in ["id", "seq", "user", "ts"] {
        assert_eq!(
            after[field], before[field],
            "an edit keeps the message's {field}"
        );
    }
    assert!(after["edited_ts"].as_u64() >= before["ts"].as_u64());
}
