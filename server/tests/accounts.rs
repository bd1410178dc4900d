//! `--auth accounts` over real processes and sockets: `banter user` and `banter invite` beside a
//! running server (its SQLite file, or the cluster's Redis); sign-up with a good, used, revoked
//! and expired invite (on SQLite, and across two nodes on Redis); one `401` for an unknown name
//! and a wrong password (and both do the hash's work); the guessing limit (`429` with
//! `retry-after`, a remembered device let through); revocation: disabling, a password change
//! and signing out everywhere close open sockets with 4001 and refuse the old tokens and
//! cookies, also on another node of a Redis cluster.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use banter_protocol::{ClientMsg, ServerMsg};
use banter_testkit::{Banter, Client, Endpoint, Persistence, Redis, wait_until};
use common::process::{banter, launch};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const SECRET: &str = "accounts-test-secret-0123456789abcdef";

/// Cheap hashes for tests (debug builds hash slowly); the parameters are flags.
const FAST: &[&str] = &[
    "--auth",
    "accounts",
    "--argon2-memory-kib",
    "256",
    "--argon2-iterations",
    "1",
    "--accounts-poll",
    "50ms",
];

async fn server(extra: &[&str]) -> Banter {
    launch()
        .unlimited()
        .args(FAST)
        .args(extra)
        .env("BANTER_AUTH_SECRET", Some(SECRET))
        .start()
        .await
        .expect("banter started")
}

/// `banter STORE_FLAGS ARGS` with `stdin` as its input; its stdout, after it succeeded.
async fn cli(store: &[&str], args: &[&str], stdin: &str) -> String {
    let mut child = banter()
        .args(["--argon2-memory-kib", "256", "--argon2-iterations", "1"])
        .args(store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("banter runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "banter {args:?}: {stderr}");
    assert!(!stderr.contains("hunter2"), "a password was printed");
    String::from_utf8(out.stdout).unwrap()
}

fn data(s: &Banter) -> Vec<String> {
    vec![
        "--data-dir".into(),
        s.data_dir().unwrap().display().to_string(),
    ]
}

async fn with_data(s: &Banter, args: &[&str], stdin: &str) -> String {
    let d = data(s);
    let store: Vec<&str> = d.iter().map(String::as_str).collect();
    cli(&store, args, stdin).await
}

/// A POST with a JSON body (and a cookie, a bearer): status, headers, JSON body.
async fn call(
    s: &impl Endpoint,
    method: reqwest::Method,
    path: &str,
    body: Value,
    auth: (Option<&str>, Option<&str>),
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new()
        .request(method, s.http(path))
        .json(&body);
    if let Some(cookie) = auth.0 {
        req = req.header("cookie", format!("banter_session={cookie}"));
    }
    if let Some(token) = auth.1 {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.expect("request");
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

async fn post(s: &impl Endpoint, path: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = call(s, reqwest::Method::POST, path, body, (None, None)).await;
    (status, body)
}

/// The session cookie's value in a response's `Set-Cookie`.
fn cookie(headers: &reqwest::header::HeaderMap) -> String {
    let set = headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap()["banter_session=".len()..].to_owned()
}

/// Logs in: the token and the cookie.
async fn login(s: &impl Endpoint, name: &str, password: &str) -> (String, String) {
    let (status, headers, body) = call(
        s,
        reqwest::Method::POST,
        "/api/login",
        json!({"name": name, "password": password}),
        (None, None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], name);
    (body["token"].as_str().unwrap().to_owned(), cookie(&headers))
}

/// A signed-in socket in `room`.
async fn signed_in(s: &impl Endpoint, token: &str, room: &str) -> Client {
    let mut c = Client::connect_raw(&s.ws_url()).await;
    c.recv().await; // welcome
    c.send(&ClientMsg::Auth {
        token: token.into(),
    })
    .await;
    assert!(matches!(c.recv().await, ServerMsg::Authenticated { .. }));
    c.join(room, "").await;
    c
}

fn invite_code(link: &str) -> String {
    link.trim()
        .rsplit_once("#invite=")
        .expect("an invite link")
        .1
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_with_good_used_revoked_and_expired_invites() {
    let s = server(&[]).await;
    let store = data(&s);
    sign_up_with_invites(&s, &s, &store).await;
}

/// The same on two nodes sharing a Redis: the invites are made on node A (the admin API and
/// `banter invite` against the Redis) and each is tried on node B, the used one again on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_with_good_used_revoked_and_expired_invites_on_redis() {
    let redis = Redis::start(Persistence::Off);
    let a = node_with(&redis).await;
    let b = node_with(&redis).await;
    sign_up_with_invites(&a, &b, &["--redis".into(), redis.url()]).await;
}

/// Sign-up with a good, a used, a revoked and an expired invite: `a` is where the admin acts
/// and the used invite is tried again, `b` where each sign-up is tried; `store` are the flags
/// that point `banter user` and `banter invite` at their store.
async fn sign_up_with_invites(a: &Banter, b: &Banter, store: &[String]) {
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    cli(
        &store,
        &["user", "add", "root", "--role", "admin"],
        "hunter2-root\n",
    )
    .await;
    let (admin, _) = login(a, "root", "hunter2-root").await;

    let good = invite_code(&cli(&store, &["invite"], "").await);
    let signup =
        |code: String, name: &str| json!({"invite": code, "name": name, "password": "hunter2-ada"});
    let (status, headers, body) = call(
        b,
        reqwest::Method::POST,
        "/api/signup",
        signup(good.clone(), "ada"),
        (None, None),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"], "ada");
    cookie(&headers);
    let (status, body) = post(a, "/api/signup", signup(good, "eve")).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert!(body["message"].as_str().unwrap().contains("used"), "{body}");

    // Revoked from the admin API.
    let (status, _, made) = call(
        a,
        reqwest::Method::POST,
        "/api/invites",
        json!({}),
        (None, Some(&admin)),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let path = format!("/api/invites/{}", made["id"].as_str().unwrap());
    let (status, _, _) = call(
        a,
        reqwest::Method::DELETE,
        &path,
        json!({}),
        (None, Some(&admin)),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = post(
        b,
        "/api/signup",
        signup(made["code"].as_str().unwrap().into(), "eve"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("not valid"),
        "{body}"
    );

    // Expired: made for one second; tried once the clock has passed it.
    let (_, _, short) = call(
        a,
        reqwest::Method::POST,
        "/api/invites",
        json!({"ttl_secs": 1}),
        (None, Some(&admin)),
    )
    .await;
    let expires = short["expires"].as_u64().unwrap();
    wait_until("the invite's expiry has passed", || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            > expires
    })
    .await;
    let (status, body) = post(
        b,
        "/api/signup",
        signup(short["code"].as_str().unwrap().into(), "eve"),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    // A member is not an admin; the listing shows who signed up.
    let (member, _) = login(b, "ada", "hunter2-ada").await;
    let (status, _, _) = call(
        a,
        reqwest::Method::GET,
        "/api/users",
        json!({}),
        (None, Some(&member)),
    )
    .await;
    assert_eq!(status, 403);
    let listed = cli(&store, &["user", "list"], "").await;
    assert_eq!(listed, "ada\tmember\nroot\tadmin\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_name_and_wrong_password_get_the_same_401_after_the_same_work() {
    let s = server(&[
        "--login-free-failures",
        "1000",
        "--login-per-address-per-min",
        "0",
    ])
    .await;
    with_data(&s, &["user", "add", "ada"], "hunter2-ada\n").await;
    let (a_status, wrong) = post(
        &s,
        "/api/login",
        json!({"name": "ada", "password": "nope-nope"}),
    )
    .await;
    let (b_status, unknown) = post(
        &s,
        "/api/login",
        json!({"name": "nobody", "password": "nope-nope"}),
    )
    .await;
    assert_eq!((a_status, b_status), (401, 401));
    assert_eq!(wrong, unknown, "the same answer for both");
    assert_eq!(wrong["code"], "unauthorized");

    // Both hash: neither answer comes back faster at the median (interleaved, so load affects
    // both alike; the bound is loose: a skipped hash would be many times faster).
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..15 {
        for (name, into) in [("ada", &mut times.0), ("nobody", &mut times.1)] {
            let t = Instant::now();
            post(
                &s,
                "/api/login",
                json!({"name": name, "password": "nope-nope"}),
            )
            .await;
            into.push(t.elapsed());
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut times.0), median(&mut times.1));
    println!("login p50: known name {known:?}, unknown name {unknown:?}");
    assert!(
        unknown * 3 > known && known * 3 > unknown,
        "{known:?} vs {unknown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_gets_429_with_retry_after_but_a_remembered_device_gets_in() {
    let s = server(&["--login-free-failures", "2", "--login-max-wait", "60s"]).await;
    with_data(&s, &["user", "add", "ada"], "hunter2-ada\n").await;
    let (_, remembered) = login(&s, "ada", "hunter2-ada").await;
    for _ in 0..2 {
        let (status, _) = post(
            &s,
            "/api/login",
            json!({"name": "ada", "password": "guess"}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, headers, body) = call(
        &s,
        reqwest::Method::POST,
        "/api/login",
        json!({"name": "ada", "password": "hunter2-ada"}),
        (None, None),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The device that signed in before is not made to wait for the name.
    let (status, _, body) = call(
        &s,
        reqwest::Method::POST,
        "/api/login",
        json!({"name": "ada", "password": "hunter2-ada"}),
        (Some(&remembered), None),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Per address: every attempt counts.
    let t = server(&["--login-per-address-per-min", "3"]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            post(&t, "/api/login", json!({"name": "x", "password": "y"}))
                .await
                .0,
        );
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_password_change_and_sign_out_everywhere_end_every_session_at_once() {
    let s = server(&[]).await;
    with_data(&s, &["user", "add", "ada"], "hunter2-ada\n").await;
    let (token, cookie_a) = login(&s, "ada", "hunter2-ada").await;
    let (_, cookie_b) = login(&s, "ada", "hunter2-ada").await;
    let mut one = signed_in(&s, &token, "lobby").await;
    let mut two = signed_in(&s, &token, "ops").await;

    // A password change: both sockets close with 4001; the old token and cookies are refused;
    // the answer is a new session for this device.
    let (status, headers, fresh) = call(
        &s,
        reqwest::Method::POST,
        "/api/password",
        json!({"old": "hunter2-ada", "new": "hunter3-ada"}),
        (None, Some(&token)),
    )
    .await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(one.expect_close().await, 4001);
    assert_eq!(two.expect_close().await, 4001);
    let (status, _, _) = call(
        &s,
        reqwest::Method::GET,
        "/api/account",
        json!({}),
        (None, Some(&token)),
    )
    .await;
    assert_eq!(status, 401);
    for old in [&cookie_a, &cookie_b] {
        let (status, _, _) = call(
            &s,
            reqwest::Method::POST,
            "/api/session/renew",
            json!({}),
            (Some(old), None),
        )
        .await;
        assert_eq!(status, 401);
    }
    let new_cookie = cookie(&headers);
    let (status, _, renewed) = call(
        &s,
        reqwest::Method::POST,
        "/api/session/renew",
        json!({}),
        (Some(&new_cookie), None),
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    let token = renewed["token"].as_str().unwrap().to_owned();

    // Sign out everywhere.
    let mut three = signed_in(&s, &token, "lobby").await;
    let (status, _, _) = call(
        &s,
        reqwest::Method::POST,
        "/api/session/everywhere",
        json!({}),
        (None, Some(&token)),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(three.expect_close().await, 4001);

    // `banter user disable` beside the running server: the socket closes, the token and the
    // password stop working.
    let (token, _) = login(&s, "ada", "hunter3-ada").await;
    let mut four = signed_in(&s, &token, "lobby").await;
    with_data(&s, &["user", "disable", "ada"], "").await;
    assert_eq!(four.expect_close().await, 4001);
    let mut late = Client::connect_raw(&s.ws_url()).await;
    late.recv().await;
    late.send(&ClientMsg::Auth {
        token: token.clone(),
    })
    .await;
    assert_eq!(late.expect_error().await, "unauthorized");
    let (status, _) = post(
        &s,
        "/api/login",
        json!({"name": "ada", "password": "hunter3-ada"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        with_data(&s, &["user", "list"], "").await,
        "ada\tmember\tdisabled\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_on_one_node_closes_the_socket_on_another() {
    let redis = Redis::start(Persistence::ALWAYS);
    let a = node_with(&redis).await;
    let b = node_with(&redis).await;
    let url = redis.url();
    cli(
        &["--redis", &url],
        &["user", "add", "root", "--role", "admin"],
        "hunter2-root\n",
    )
    .await;
    cli(&["--redis", &url], &["user", "add", "ada"], "hunter2-ada\n").await;
    let (admin, _) = login(&a, "root", "hunter2-root").await;
    let (token, _) = login(&b, "ada", "hunter2-ada").await;
    let mut on_b = signed_in(&b, &token, "lobby").await;
    let (status, _, body) = call(
        &a,
        reqwest::Method::PATCH,
        "/api/users/ada",
        json!({"disabled": true}),
        (None, Some(&admin)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t = Instant::now();
    assert_eq!(on_b.expect_close().await, 4001);
    let closed = t.elapsed();
    println!("closed on the other node {closed:?} after the admin's answer");
    assert!(closed < Duration::from_secs(1), "revoked within a second");
    let (status, _, _) = call(
        &b,
        reqwest::Method::GET,
        "/api/account",
        json!({}),
        (None, Some(&token)),
    )
    .await;
    assert_eq!(status, 401);

    // The other user commands against the same Redis, beside the running nodes.
    let store = ["--redis", url.as_str()];
    assert_eq!(
        cli(&store, &["user", "list"], "").await,
        "ada\tmember\tdisabled\nroot\tadmin\n"
    );
    cli(&store, &["user", "enable", "ada"], "").await;
    cli(&store, &["user", "role", "ada", "admin"], "").await;
    cli(&store, &["user", "password", "ada"], "hunter4-ada\n").await;
    assert_eq!(
        cli(&store, &["user", "list"], "").await,
        "ada\tadmin\nroot\tadmin\n"
    );
    let (_, _) = login(&b, "ada", "hunter4-ada").await;
    let (status, _) = post(
        &a,
        "/api/login",
        json!({"name": "ada", "password": "hunter2-ada"}),
    )
    .await;
    assert_eq!(status, 401, "the old password is gone");
}

async fn node_with(redis: &Redis) -> Banter {
    launch()
        .unlimited()
        .redis(&redis.url())
        .args(FAST)
        .env("BANTER_AUTH_SECRET", Some(SECRET))
        .start()
        .await
        .expect("a banter node")
}
