//! Limits on every path, over real sockets: every WebSocket frame is charged to the rate limit
//! and errors echo only a prefix; one address flooding HTTP gets `429` while another is served;
//! slow-header and idle HTTP connections are closed within the header timeout; one address
//! cannot hold more than `--max-connections-per-ip` WebSockets. Clients on 127.0.0.2 and
//! 127.0.0.1 are different addresses (all of 127/8 is loopback on Linux).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use banter_protocol::ServerMsg;
use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const OTHER: [u8; 4] = [127, 0, 0, 2];

async fn tcp_from(local: [u8; 4], to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().expect("socket");
    s.bind(SocketAddr::from((local, 0))).expect("bind");
    s.connect(to).await.expect("connect")
}

/// A WebSocket from `local`; `Err(status)` when refused at the door.
async fn ws_from(
    server: &TestServer,
    local: [u8; 4],
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, u16> {
    let tcp = tcp_from(local, server.addr).await;
    match tokio_tungstenite::client_async(server.ws_url(), tcp).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

/// Counts error frames by code until `n` have arrived.
async fn error_codes(c: &mut Client, n: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let text = c.recv_text().await;
        let code = match serde_json::from_str(&text) {
            Ok(ServerMsg::Error { code, .. }) => code.as_str().to_owned(),
            other => panic!("expected an error, got {other:?}"),
        };
        out.push((code, text.len()));
    }
    out
}

#[tokio::test]
async fn every_frame_counts_against_the_rate_and_errors_echo_only_a_prefix() {
    let server = start_server_with(|c| {
        c.rate_per_sec = 20;
        c.rate_burst = 40;
    })
    .await;
    let mut c = Client::connect(&server).await;
    // 200 unknown-type frames in one burst: the burst is answered `bad_request`, the rest
    // `rate_limited` (before the fix all 200 were parsed and answered `bad_request`).
    for i in 0..200 {
        c.ws.feed(Message::text(format!(r#"{{"type":"shout","n":{i}}}"#)))
            .await
            .unwrap();
    }
    c.ws.flush().await.unwrap();
    let codes = error_codes(&mut c, 200).await;
    let limited = codes.iter().filter(|(c, _)| c == "rate_limited").count();
    let bad = codes.iter().filter(|(c, _)| c == "bad_request").count();
    assert_eq!(limited + bad, 200);
    assert!(
        (40..=50).contains(&bad),
        "{bad} bad_request, {limited} rate_limited"
    );

    // Binary frames and pings spend the same budget.
    let mut d = Client::connect(&server).await;
    for _ in 0..100 {
        d.ws.feed(Message::Ping(vec![1].into())).await.unwrap();
    }
    d.ws.feed(Message::binary(vec![0u8; 10])).await.unwrap();
    d.ws.flush().await.unwrap();
    assert_eq!(error_codes(&mut d, 1).await[0].0, "rate_limited");

    // A 60 KB bad frame is answered with a short error, not an echo of 60 KB.
    // (A new connection: its own, full budget.)
    let mut e = Client::connect(&server).await;
    e.send_raw(&format!(r#"{{"type":"{}"}}"#, "x".repeat(60_000)))
        .await;
    let (code, len) = error_codes(&mut e, 1).await.remove(0);
    assert_eq!(code, "bad_request");
    assert!(len < 400, "error frame of {len} bytes");
    // A huge invalid client_id is not echoed either.
    e.join("lobby", "ada").await;
    e.send_raw(
        &json!({"type":"send","room":"lobby","text":"x","client_id":"c".repeat(5000)}).to_string(),
    )
    .await;
    let (code, len) = error_codes(&mut e, 1).await.remove(0);
    assert_eq!(code, "bad_request");
    assert!(len < 400, "error frame of {len} bytes");
}

#[tokio::test]
async fn one_address_flooding_http_gets_429_while_another_is_served() {
    let server = start_server_with(|c| {
        c.http_rate_per_sec = 20;
        c.http_rate_burst = 40;
    })
    .await;
    let client_from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let flooder = client_from(OTHER);
    let url = server.http("/api/rooms/lobby/messages");
    let flood = {
        let url = url.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let (mut ok, mut limited, mut retry_after_ok) = (0, 0, true);
            for _ in 0..1000 {
                let res = flooder.get(&url).send().await.expect("flood request");
                match res.status().as_u16() {
                    200 => ok += 1,
                    429 => {
                        limited += 1;
                        let ra = res
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok());
                        retry_after_ok &= ra
                            .and_then(|v| v.parse::<u64>().ok())
                            .is_some_and(|s| s >= 1);
                    }
                    s => panic!("unexpected {s}"),
                }
            }
            (ok, limited, retry_after_ok, t0.elapsed())
        })
    };
    let polite = client_from([127, 0, 0, 1]);
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let t0 = Instant::now();
        let res = polite
            .post(&url)
            .json(&json!({"user": "ada", "text": format!("m{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "the other address is served");
        worst = worst.max(t0.elapsed());
    }
    let (ok, limited, retry_after_ok, took) = flood.await.unwrap();
    println!(
        "flood: {ok} served, {limited} got 429 in {took:?}; other address worst latency {worst:?}"
    );
    // The flooder gets its burst plus the sustained rate over the flood's duration, no more.
    let allowed = 40 + (20.0 * took.as_secs_f64()).ceil() as usize + 1;
    assert!(ok <= allowed, "{ok} served, at most {allowed} allowed");
    assert_eq!(ok + limited, 1000);
    assert!(retry_after_ok, "every 429 carries retry-after");
    assert!(worst < Duration::from_millis(250), "{worst:?}");
}

#[tokio::test]
async fn slow_header_connections_are_closed_and_new_clients_still_connect() {
    let server = start_server_with(|c| c.http_header_timeout = Duration::from_secs(1)).await;
    let t0 = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = tcp_from(OTHER, server.addr).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // A keep-alive connection that went quiet after one request is closed too (idle).
    let mut idle = tcp_from(OTHER, server.addr).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Meanwhile a new client is served at once.
    let mut c = Client::connect(&server).await;
    c.join("lobby", "ada").await;
    assert_eq!(get_json(&server, "/healthz").await.0, 200);

    let mut closed = 0;
    for mut s in slow.into_iter().chain([idle]) {
        let mut buf = vec![0u8; 4096];
        loop {
            match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue, // the idle one's response, or a 408
                Err(_) => panic!("a slow connection is still open after {WAIT:?}"),
            }
        }
    }
    let took = t0.elapsed();
    println!("201 slow/idle connections closed after {took:?} (timeout 1 s)");
    assert_eq!(closed, 201);
    assert!(took < Duration::from_secs(4), "{took:?}");
    // The WebSocket was not affected by the HTTP timeouts.
    c.say("lobby", "still here", None).await;
    assert!(message(&c.recv().await).is_some());
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_websockets() {
    let server = start_server_with(|c| c.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(ws_from(&server, OTHER).await.expect("within the cap"));
    }
    assert_eq!(ws_from(&server, OTHER).await.err(), Some(429));
    // Another address is unaffected, and closing one frees a slot.
    let _other = ws_from(&server, [127, 0, 0, 1])
        .await
        .expect("other address");
    let mut first = held.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let deadline = Instant::now() + WAIT;
    loop {
        match ws_from(&server, OTHER).await {
            Ok(_) => break,
            Err(429) if Instant::now() < deadline => tokio::task::yield_now().await,
            Err(s) => panic!("still refused: {s}"),
        }
    }
}
