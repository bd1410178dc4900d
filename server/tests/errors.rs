//! Every bad input of the contract gets its error code, and the socket stays usable.

mod common;

use banter_protocol::{ClientMsg, ServerMsg};
use common::*;
use serde_json::json;

#[tokio::test]
async fn each_bad_websocket_input_gets_its_code_and_the_socket_stays_usable() {
    let server = start_server().await;
    let mut c = Client::connect(&server).await;

    let cases: Vec<(String, &str)> = vec![
        ("this is not json".into(), "bad_request"),
        (r#"{"type":"shout","room":"lobby"}"#.into(), "bad_request"),
        (r#"{"type":"send","room":"lobby"}"#.into(), "bad_request"),
        (r#"{"room":"lobby","text":"no type"}"#.into(), "bad_request"),
        (
            r#"{"type":"join","room":"Lobby!","name":"ada"}"#.into(),
            "invalid_room",
        ),
        (
            r#"{"type":"join","room":"lobby","name":"   "}"#.into(),
            "invalid_name",
        ),
        (
            json!({"type":"join","room":"lobby","name":"x".repeat(33)}).to_string(),
            "invalid_name",
        ),
        (
            r#"{"type":"send","room":"lobby","text":"not joined yet"}"#.into(),
            "not_joined",
        ),
        (r#"{"type":"typing","room":"lobby"}"#.into(), "not_joined"),
        (
            r#"{"type":"direct","to":"bob","text":"who am I?"}"#.into(),
            "not_joined",
        ),
    ];
    for (frame, code) in &cases {
        c.send_raw(frame).await;
        assert_eq!(&c.expect_error().await, code, "for {frame}");
    }

    c.join("lobby", "ada").await;
    let after_join: Vec<(String, &str)> = vec![
        (
            json!({"type":"send","room":"lobby","text":"a".repeat(4001)}).to_string(),
            "too_large",
        ),
        (
            r#"{"type":"send","room":"lobby","text":"  \n "}"#.into(),
            "invalid_text",
        ),
        (
            r#"{"type":"send","room":"no such room","text":"hi"}"#.into(),
            "invalid_room",
        ),
        (
            r#"{"type":"send","room":"other","text":"hi"}"#.into(),
            "not_joined",
        ),
        (
            r#"{"type":"direct","to":"  ","text":"hi"}"#.into(),
            "invalid_name",
        ),
        (
            r#"{"type":"join","room":"dm-0123","name":"ada"}"#.into(),
            "invalid_room",
        ),
        (
            r#"{"type":"join","room":"general","with":"bob","name":"ada"}"#.into(),
            "invalid_room",
        ),
        (
            r#"{"type":"join","room":"other","name":"someone-else"}"#.into(),
            "name_taken",
        ),
        (
            json!({"type":"send","room":"lobby","text":"hi","client_id":""}).to_string(),
            "bad_request",
        ),
    ];
    for (frame, code) in &after_join {
        c.send_raw(frame).await;
        assert_eq!(&c.expect_error().await, code, "for {frame}");
    }
    // An error echoes the client_id, so a client can match it to its send.
    c.send_raw(
        &json!({"type":"send","room":"lobby","text":"a".repeat(4001),"client_id":"big-1"})
            .to_string(),
    )
    .await;
    let err = c.recv_until(|m| matches!(m, ServerMsg::Error { .. })).await;
    assert!(matches!(err, ServerMsg::Error { client_id: Some(id), .. } if id == "big-1"));

    // Exactly 4,000 characters is fine, and the socket still works after all of the above.
    c.say("lobby", &"é".repeat(4000), Some("ok-1")).await;
    let m = c.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
    assert_eq!(message(&m).map(|m| m.seq), Some(1));
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages").await;
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        1,
        "nothing bad was stored"
    );
}

#[tokio::test]
async fn a_frame_over_64_kib_is_closed_with_1009() {
    let server = start_server().await;
    let mut c = Client::connect(&server).await;
    c.join("lobby", "ada").await;
    let text = "a".repeat(64 * 1024);
    c.send_raw(&json!({"type":"send","room":"lobby","text": text}).to_string())
        .await;
    assert_eq!(c.expect_close().await, 1009);
    // Others are unaffected.
    let mut d = Client::connect(&server).await;
    d.join("lobby", "bob").await;
    d.say("lobby", "still here", None).await;
    assert!(message(&d.recv().await).is_some());
}

#[tokio::test]
async fn the_rate_limit_refuses_a_burst_and_says_so() {
    let server = start_server_with(|c| {
        c.rate_per_sec = 1;
        c.rate_burst = 3;
    })
    .await;
    let mut c = Client::connect(&server).await;
    c.join("lobby", "ada").await; // 1 of the burst
    c.say("lobby", "one", None).await;
    c.say("lobby", "two", None).await;
    c.say("lobby", "three", Some("c3")).await;
    // The refusal is immediate; the two stored messages come back once committed, so the
    // refusal may arrive before them.
    let mut seqs = Vec::new();
    let mut code = None;
    while code.is_none() || seqs.len() < 2 {
        match c.recv().await {
            ServerMsg::Message(m) => seqs.push(m.seq),
            ServerMsg::Error {
                code: got,
                client_id,
                ..
            } => {
                assert_eq!(client_id.as_deref(), Some("c3"));
                assert!(code.replace(got).is_none(), "one refusal");
            }
            _ => {}
        }
    }
    let code = code.map(|c| c.as_str());
    assert_eq!((code, seqs), (Some("rate_limited"), vec![1, 2]));
}

#[tokio::test]
async fn http_errors_are_json_with_fitting_statuses() {
    let server = start_server().await;
    let (status, body) = post(&server, "lobby", json!({"user": "", "text": "hi"})).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_name")));
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let (status, body) = post(&server, "Bad%20Room", json!({"user": "a", "text": "hi"})).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_room")));
    let (status, body) = post(
        &server,
        "lobby",
        json!({"user": "a", "text": "x".repeat(4001)}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (413, Some("too_large")));
    let (status, body) = post(&server, "lobby", json!({"user": "a"})).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, body) = post(
        &server,
        "lobby",
        json!({"user": "a", "text": "x".repeat(70_000)}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (413, Some("too_large")));
    let (status, body) = get_json(&server, "/api/rooms/lobby/messages?since=abc").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let (status, body) = get_json(&server, "/api/rooms/lobby/messages?limit=5000").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    let res = reqwest::Client::new()
        .delete(server.http("/api/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (status, body) = get_json(&server, "/api/nothing").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages").await;
    assert_eq!(
        page["messages"],
        json!([]),
        "nothing was stored by bad posts"
    );
}

#[tokio::test]
async fn the_door_refuses_bad_origins_and_a_full_server() {
    let server = start_server_with(|c| {
        c.allowed_origins = vec!["https://chat.example".into()];
        c.max_connections = 1;
    })
    .await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "https://chat.example".parse().unwrap());
    let (_first, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("allowed origin");
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 503),
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn a_binary_frame_is_refused_without_closing() {
    let server = start_server().await;
    let mut c = Client::connect(&server).await;
    use futures_util::SinkExt;
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        1u8, 2, 3,
    ]))
    .await
    .unwrap();
    assert_eq!(c.expect_error().await, "bad_request");
    c.send(&ClientMsg::Join {
        room: "lobby".into(),
        name: "ada".into(),
        since: None,
        epoch: None,
        with: None,
    })
    .await;
    assert!(matches!(c.recv().await, ServerMsg::Joined { .. }));
}
