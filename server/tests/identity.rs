//! Token mode (`--auth token`) over real sockets: no token, a forged one, an expired one and one
//! expiring mid-connection are each refused with `unauthorized` and close 4001 (`401` over
//! HTTP); with a valid token the user is its `sub`, whatever `name`/`user` says. Also the hello
//! timeout in both modes, room claims, and the `banter token` command (a real process).

mod common;

use std::time::{Duration, Instant};

use banter_protocol::{AuthMode, ClientMsg, Limits, ServerMsg};
use banter_server::auth::{Identity, TokenIdentity};
use banter_server::config::AuthKind;
use common::*;
use serde_json::json;

const SECRET: &str = "identity-test-secret-0123456789abcdef";

fn issuer() -> TokenIdentity {
    TokenIdentity::new(SECRET.as_bytes(), Limits::default())
}

fn token(sub: &str, ttl_secs: u64) -> String {
    issuer()
        .issue(sub, Duration::from_secs(ttl_secs), None)
        .expect("sign")
}

/// A token whose `exp` is already past.
fn expired(sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": sub, "exp": now - 5, "iat": now - 60}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

async fn token_server() -> TestServer {
    start_server_with(|c| {
        c.auth = AuthKind::Token;
        c.auth_secret = Some(format!("  {SECRET}\n"));
        c.auth_timeout = Duration::from_millis(800);
    })
    .await
}

/// Connects, checks `welcome.auth` says token.
async fn connect_token_mode(server: &TestServer) -> Client {
    let mut c = Client::connect_raw(&server.ws_url()).await;
    match c.recv().await {
        ServerMsg::Welcome { auth, .. } => assert_eq!(auth, AuthMode::Token),
        other => panic!("expected welcome, got {other:?}"),
    }
    c
}

async fn auth(c: &mut Client, token: &str) -> ServerMsg {
    c.send(&ClientMsg::Auth {
        token: token.into(),
    })
    .await;
    c.recv().await
}

#[tokio::test]
async fn no_token_a_forged_one_and_an_expired_one_get_unauthorized_and_4001() {
    let server = token_server().await;
    let forged = TokenIdentity::new(&[9; 40], Limits::default())
        .issue("ada", Duration::from_secs(60), None)
        .unwrap();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token: join first", None),
        ("forged", Some(forged)),
        ("expired", Some(expired("ada"))),
        ("garbage", Some("not.a.token".into())),
    ];
    for (what, tok) in cases {
        let mut c = connect_token_mode(&server).await;
        match tok {
            None => c.send(&join_msg("lobby", "ada")).await,
            Some(t) => {
                c.send(&ClientMsg::Auth { token: t }).await;
            }
        }
        assert_eq!(c.expect_error().await, "unauthorized", "{what}");
        assert_eq!(c.expect_close().await, 4001, "{what}");
    }
    // Nobody got in.
    let (_, rooms) = get_json_bearer(&server, "/api/rooms", &token("ops", 60)).await;
    assert_eq!(rooms["rooms"], json!([]));
}

#[tokio::test]
async fn a_token_expiring_mid_connection_closes_with_4001() {
    let server = token_server().await;
    let mut c = connect_token_mode(&server).await;
    let t0 = Instant::now();
    let exp = match auth(&mut c, &token("ada", 2)).await {
        ServerMsg::Authenticated { user, exp } => {
            assert_eq!(user, "ada");
            exp
        }
        other => panic!("expected authenticated, got {other:?}"),
    };
    c.send(&join_msg("lobby", "")).await;
    assert!(matches!(c.recv().await, ServerMsg::Joined { .. }));
    assert_eq!(c.expect_error().await, "unauthorized");
    assert_eq!(c.expect_close().await, 4001);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now >= exp, "closed before exp");
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn a_valid_token_makes_the_user_its_sub_whatever_the_frames_say() {
    let server = token_server().await;
    let mut bob = connect_token_mode(&server).await;
    auth(&mut bob, &token("bob", 60)).await;
    bob.send(&join_msg("lobby", "")).await;
    assert!(matches!(bob.recv().await, ServerMsg::Joined { .. }));

    let mut ada = connect_token_mode(&server).await;
    assert!(matches!(
        auth(&mut ada, &token("ada", 60)).await,
        ServerMsg::Authenticated { user, .. } if user == "ada"
    ));
    // Claiming another name is refused; no name, or its own, is fine.
    ada.send(&join_msg("lobby", "bob")).await;
    assert_eq!(ada.expect_error().await, "name_taken");
    ada.send(&join_msg("lobby", "")).await;
    match ada.recv().await {
        ServerMsg::Joined { users, .. } => assert_eq!(users, ["ada", "bob"]),
        other => panic!("expected joined, got {other:?}"),
    }
    // A later `auth` for someone else cannot switch the connection's user.
    ada.send(&ClientMsg::Auth {
        token: token("bob", 60),
    })
    .await;
    assert_eq!(ada.expect_error().await, "name_taken");
    ada.say("lobby", "hello", None).await;
    let m = bob.recv_until(|m| message(m).is_some()).await;
    assert_eq!(message(&m).unwrap().user, "ada");

    // HTTP: the poster is the token's sub; another `user` is 403, no or a bad token 401.
    let url = server.http("/api/rooms/lobby/messages");
    let http = reqwest::Client::new();
    let res = http
        .post(&url)
        .bearer_auth(token("ada", 60))
        .json(&json!({"text": "over http"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["user"],
        "ada"
    );
    let res = http
        .post(&url)
        .bearer_auth(token("ada", 60))
        .json(&json!({"user": "bob", "text": "as bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["code"],
        "forbidden"
    );
    for bad in [None, Some(expired("ada")), Some("x.y.z".to_owned())] {
        let mut req = http.post(&url).json(&json!({"user": "ada", "text": "x"}));
        if let Some(t) = &bad {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{bad:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap()["code"],
            "unauthorized"
        );
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 401, "reading needs a token too");
    }
    let (status, page) =
        get_json_bearer(&server, "/api/rooms/lobby/messages", &token("x", 9)).await;
    assert_eq!(status, 200);
    let users: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["ada", "ada"]);
    // /healthz stays open.
    assert_eq!(get_json(&server, "/healthz").await.0, 200);
}

#[tokio::test]
async fn a_rooms_claim_limits_the_rooms_a_token_may_use() {
    let server = token_server().await;
    let t = issuer()
        .issue("ada", Duration::from_secs(60), Some(vec!["team".into()]))
        .unwrap();
    let mut c = connect_token_mode(&server).await;
    auth(&mut c, &t).await;
    c.send(&join_msg("lobby", "")).await;
    assert_eq!(c.expect_error().await, "forbidden");
    c.send(&join_msg("team", "")).await;
    assert!(matches!(c.recv().await, ServerMsg::Joined { .. }));
    let (status, _) = get_json_bearer(&server, "/api/rooms/lobby/messages", &t).await;
    assert_eq!(status, 403);
    let (status, _) = get_json_bearer(&server, "/api/rooms/team/messages", &t).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_silent_socket_is_closed_after_the_auth_timeout_in_both_modes() {
    let server = token_server().await;
    let t0 = Instant::now();
    let mut c = connect_token_mode(&server).await;
    assert_eq!(c.expect_error().await, "unauthorized");
    assert_eq!(c.expect_close().await, 4001);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());

    let open = start_server_with(|c| c.auth_timeout = Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let mut quiet = Client::connect(&open).await;
    // Bad frames do not count as a hello.
    quiet.send_raw("{not json").await;
    assert_eq!(quiet.expect_error().await, "bad_request");
    assert_eq!(quiet.expect_close().await, 1008);
    assert!(t0.elapsed() < Duration::from_secs(3));
    // A client that joins in time stays, well past the timeout.
    let mut ok = Client::connect(&open).await;
    ok.join("lobby", "ada").await;
    let mut watch = Client::connect(&open).await;
    watch.join("lobby", "bob").await;
    ok.say("lobby", "still here", None).await;
    let m = watch.recv_until(|m| message(m).is_some()).await;
    assert_eq!(message(&m).unwrap().text, "still here");
}

#[tokio::test]
async fn classic_clients_are_refused_in_token_mode() {
    let server = token_server().await;
    let mut c = Client::connect_raw(&format!("ws://{}/", server.addr)).await;
    assert_eq!(c.expect_close().await, 4001);
}

#[tokio::test]
async fn banter_token_prints_a_token_the_server_accepts() {
    let server = token_server().await;
    let out = common::process::banter()
        .args(["token", "--sub", "cli-bot", "--ttl", "10m"])
        .env("BANTER_AUTH_SECRET", SECRET)
        .env_remove("BANTER_AUTH_SECRET_FILE")
        .output()
        .await
        .expect("run banter token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tok = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut c = connect_token_mode(&server).await;
    assert!(matches!(
        auth(&mut c, &tok).await,
        ServerMsg::Authenticated { user, .. } if user == "cli-bot"
    ));
    let out = common::process::banter()
        .args(["invite", "--sub", "ada", "--url", "https://chat.example/"])
        .env("BANTER_AUTH_SECRET", SECRET)
        .output()
        .await
        .expect("run banter invite");
    let link = String::from_utf8(out.stdout).unwrap();
    let tok = link
        .trim()
        .strip_prefix("https://chat.example/#token=")
        .expect("a link with the token in the fragment");
    assert_eq!(&*issuer().verify(tok).expect("valid").user, "ada");
}
