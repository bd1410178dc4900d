//! Private rooms across two nodes sharing a real `redis-server` (v1.2, issue 18), each node its
//! own `banter` process (open mode: who acts is `?user=`): a member joined on node B is removed
//! by an owner acting on node A, and node B's copy of the room learns it from the room's stream:
//! the member's socket gets the entry and `removed`, then nothing more from the room; the
//! moderation entries are replayed in order on node B; the room is private on both nodes.
//! `rooms_cluster_paths.rs` checks every path of a non-member on node B.

mod common;

use banter_protocol::{ChangeKind, ClientMsg, ErrorCode, ServerMsg};
use banter_testkit::{Client, Endpoint, Persistence, Redis, WAIT};
use common::process::cluster;
use serde_json::{Value, json};

async fn call(server: &impl Endpoint, method: &str, path: &str, body: Option<Value>) -> u16 {
    let url = format!("http://{}{}", server.addr(), path);
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut req = reqwest::Client::new().request(method, url).timeout(WAIT);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send()
        .await
        .expect("the server answers")
        .status()
        .as_u16()
}

fn join(room: &str, name: &str, since: Option<u64>) -> ClientMsg {
    ClientMsg::Join {
        room: room.into(),
        name: name.into(),
        since,
        epoch: None,
        with: None,
    }
}

/// `joined` or the error code.
async fn try_join(
    c: &mut Client,
    room: &str,
    name: &str,
    since: Option<u64>,
) -> Result<(), ErrorCode> {
    c.send(&join(room, name, since)).await;
    match c
        .recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { private, .. } => {
            assert!(private, "joined says the room is private");
            Ok(())
        }
        ServerMsg::Error { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_on_one_node_puts_the_member_out_on_another() {
    let redis = Redis::start(Persistence::Off);
    let nodes = cluster(&redis, 2).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let made = call(
        a,
        "POST",
        "/api/rooms?user=ada",
        Some(json!({"room": "ops", "private": true})),
    )
    .await;
    assert_eq!(made, 201);
    let role = Some(json!({"role": "member"}));
    assert_eq!(
        call(a, "PUT", "/api/rooms/ops/members/bob?user=ada", role).await,
        201
    );

    // Someone added on node A hears of it on node B at once, before joining.
    let mut dan = Client::connect(b).await;
    dan.send(&join("lobby", "dan", None)).await;
    dan.recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
        .await;
    let role = Some(json!({"role": "member"}));
    assert_eq!(
        call(a, "PUT", "/api/rooms/ops/members/dan?user=ada", role).await,
        201
    );
    match dan
        .recv_until(|m| matches!(m, ServerMsg::Added { .. }))
        .await
    {
        ServerMsg::Added { room, by } => assert_eq!((room.as_str(), by.as_str()), ("ops", "ada")),
        _ => unreachable!(),
    }

    let mut eve = Client::connect(b).await;
    assert_eq!(
        try_join(&mut eve, "ops", "eve", Some(0)).await,
        Err(ErrorCode::Forbidden)
    );
    let mut bob = Client::connect(b).await;
    try_join(&mut bob, "ops", "bob", Some(0))
        .await
        .expect("bob is a member");
    let mut ada = Client::connect(a).await;
    try_join(&mut ada, "ops", "ada", None)
        .await
        .expect("ada owns it");

    // Node A removes bob: node B learns it from the room's stream.
    assert_eq!(
        call(a, "DELETE", "/api/rooms/ops/members/bob?user=ada", None).await,
        201
    );
    let entry = bob
        .recv_until(|m| matches!(m, ServerMsg::Change(c) if c.kind == ChangeKind::Remove))
        .await;
    let ServerMsg::Change(c) = entry else {
        unreachable!()
    };
    assert_eq!(c.text.as_deref(), Some("bob"));
    let next = bob
        .recv_until(|m| !matches!(m, ServerMsg::Presence { .. }))
        .await;
    assert!(
        matches!(&next, ServerMsg::Removed { room } if room == "ops"),
        "{next:?}"
    );

    ada.ask(ClientMsg::Send {
        room: "ops".into(),
        text: "bob is gone".into(),
        client_id: Some("a1".into()),
        reply_to: None,
        files: Vec::new(),
    })
    .await
    .expect("posted on node A");
    // bob's next frames up to his refused resume hold nothing from the room.
    bob.send(&join("ops", "bob", Some(0))).await;
    loop {
        match bob.recv().await {
            ServerMsg::Error { code, .. } => {
                assert_eq!(code, ErrorCode::Forbidden);
                break;
            }
            ServerMsg::Message(m) => panic!("a message after removed: {m:?}"),
            ServerMsg::Change(c) => panic!("an entry after removed: {c:?}"),
            _ => {}
        }
    }

    // A member resuming on node B gets every moderation entry, in order.
    let role = Some(json!({"role": "member"}));
    assert_eq!(
        call(a, "PUT", "/api/rooms/ops/members/cy?user=ada", role).await,
        201
    );
    let mut cy = Client::connect(b).await;
    cy.send(&join("ops", "cy", Some(0))).await;
    let mut kinds = Vec::new();
    while kinds.len() < 6 {
        if let ServerMsg::Change(c) = cy.recv().await {
            kinds.push((c.kind, c.text.unwrap_or_default()));
        }
    }
    let want: Vec<(ChangeKind, String)> = [
        (ChangeKind::Private, ""),
        (ChangeKind::Owner, "ada"),
        (ChangeKind::Member, "bob"),
        (ChangeKind::Member, "dan"),
        (ChangeKind::Remove, "bob"),
        (ChangeKind::Member, "cy"),
    ]
    .iter()
    .map(|(k, t)| (*k, t.to_string()))
    .collect();
    assert_eq!(kinds, want);
}
