//! `/metrics` and `/readyz` over real sockets. The metrics registry is per process, so this file
//! has exactly one test that looks at counters, and it reads them as differences.

mod common;

use banter_protocol::{ClientMsg, ServerMsg};
use banter_server::{AppState, Config};
use common::*;
use tokio::net::TcpListener;

/// The value of the sample `name` (with its labels, e.g. `x_total{path="http"}`), 0 if absent.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(server: &TestServer) -> String {
    let res = reqwest::get(server.http("/metrics")).await.expect("scrape");
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_what_clients_did() {
    let server = start_server_with(|c| c.max_frame_bytes = 1024).await;
    let before = scrape(&server).await;
    let stored = |t: &str, path: &str| {
        sample(
            t,
            &format!("banter_messages_stored_total{{path=\"{path}\"}}"),
        )
    };

    // Two members in lobby, then 7 HTTP posts and 3 WebSocket sends: 10 messages, 20 deliveries.
    let mut a = Client::connect(&server).await;
    let mut b = Client::connect(&server).await;
    a.join("lobby", "ada").await;
    b.join("lobby", "bob").await;
    for i in 0..7 {
        let (status, _) = post(
            &server,
            "lobby",
            serde_json::json!({"user": "cy", "text": format!("h{i}")}),
        )
        .await;
        assert_eq!(status, 201);
    }
    for i in 0..3 {
        a.say("lobby", &format!("w{i}"), Some(&format!("c{i}")))
            .await;
    }
    // A repeated client_id stores nothing and is not counted.
    a.say("lobby", "w0", Some("c0")).await;
    b.recv_until(|m| matches!(m, ServerMsg::Message(m) if m.seq == 10))
        .await;
    // A resume with everything still held, and a frame over the limit (closed with 1009).
    let mut c = Client::connect(&server).await;
    c.send(&ClientMsg::Join {
        room: "lobby".into(),
        name: "cy".into(),
        since: Some(5),
        epoch: None,
        with: None,
    })
    .await;
    c.recv_until(|m| matches!(m, ServerMsg::Replay { .. }))
        .await;
    let mut big = Client::connect(&server).await;
    big.send_raw(&"x".repeat(4096)).await;
    assert_eq!(big.expect_close().await, 1009);

    let after = scrape(&server).await;
    assert_eq!(stored(&after, "http") - stored(&before, "http"), 7.0);
    assert_eq!(stored(&after, "ws") - stored(&before, "ws"), 3.0);
    let deliveries =
        sample(&after, "banter_deliveries_total") - sample(&before, "banter_deliveries_total");
    assert_eq!(deliveries, 20.0);
    let resumes = "banter_resumes_total{complete=\"true\"}";
    assert_eq!(sample(&after, resumes) - sample(&before, resumes), 1.0);
    let too_big = "banter_clients_kicked_total{reason=\"too_big\"}";
    assert_eq!(sample(&after, too_big) - sample(&before, too_big), 1.0);
    let opened = "banter_connections_opened_total";
    assert_eq!(sample(&after, opened) - sample(&before, opened), 4.0);
    assert!(sample(&after, "banter_connections") >= 3.0, "{after}");
    assert!(sample(&after, "banter_rooms_loaded") >= 1.0);

    // Rate-limit refusals: a server allowing a burst of 2.
    let limited = start_server_with(|c| {
        c.rate_per_sec = 1;
        c.rate_burst = 2;
    })
    .await;
    let mut d = Client::connect(&limited).await;
    d.join("lobby", "dee").await; // 1 of the burst
    for i in 0..3 {
        d.say("lobby", &format!("r{i}"), None).await;
    }
    assert_eq!(d.expect_error().await, "rate_limited");
    assert_eq!(d.expect_error().await, "rate_limited");
    let end = scrape(&limited).await;
    let refused =
        sample(&end, "banter_rate_limited_total") - sample(&after, "banter_rate_limited_total");
    assert_eq!(refused, 2.0);
}

#[tokio::test]
async fn readyz_follows_the_registered_checks_while_healthz_stays_up() {
    let server = start_server().await;
    let res = reqwest::get(server.http("/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);

    // A server whose (stand-in) store check fails until it is reachable again.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = Config::with_listen(addr);
    cfg.data_dir = data.path().to_owned();
    let state = AppState::new(cfg).expect("the store opens");
    // A stand-in for a dependency that comes and goes (as Redis will): the SQLite store's own
    // check is registered by AppState::new and passes.
    let redis_up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = redis_up.clone();
    state.readiness.register("redis", move || {
        if flag.load(std::sync::atomic::Ordering::Relaxed) {
            Ok(())
        } else {
            Err("connection refused".into())
        }
    });
    tokio::spawn(banter_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let url = |p: &str| format!("http://{addr}{p}");
    let res = reqwest::get(url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(body.contains("redis: connection refused"), "{body}");
    assert!(!body.contains("store"), "the store is up: {body}");
    assert_eq!(reqwest::get(url("/healthz")).await.unwrap().status(), 200);
    redis_up.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(reqwest::get(url("/readyz")).await.unwrap().status(), 200);
}
