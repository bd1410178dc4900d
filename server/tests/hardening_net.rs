//! Issue 20, items 2 and 3, over real sockets: what one client can no longer hold, and who the
//! client is behind a proxy.
//!
//! - Sockets that send nothing, or half of the HTTP/2 preface, are closed within
//!   `--http-header-timeout` (before: all held forever, hyper-util's auto-detection has no timer),
//!   also over TLS, where the handshake counts inside the same deadline.
//! - An HTTP/1 client that stops reading responses is closed by `--write-timeout`.
//! - One address holds at most `--max-tcp-connections-per-ip` sockets, counted at accept (an
//!   upgraded WebSocket keeps its slot); trusted proxies are not counted.
//! - Behind a `--trusted-proxy`, clients named by `X-Forwarded-For` get their own buckets; an
//!   untrusted peer's `X-Forwarded-For` is ignored.
//!
//! Clients on 127.0.0.2, 127.0.0.3 and 127.0.0.1 are different addresses (all of 127/8 is
//! loopback on Linux). Timing is only ever an upper bound with generous slack.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use banter_server::limit::proxy::parse_net;
use common::*;
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PROXY: [u8; 4] = [127, 0, 0, 1];
const STRANGER: [u8; 4] = [127, 0, 0, 2];
const OTHER_PROXY: [u8; 4] = [127, 0, 0, 3];

async fn tcp_from(local: [u8; 4], to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().expect("socket");
    s.bind(SocketAddr::from((local, 0))).expect("bind");
    s.connect(to).await.expect("connect")
}

/// Reads (and discards) until the server closes `s`; `false` if it is still open at `by`.
async fn closed_by(mut s: TcpStream, by: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(by.into(), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// `GET /healthz` on a fresh connection from `local`: whether it was answered `200`.
async fn healthz_from(local: [u8; 4], to: SocketAddr) -> bool {
    let mut s = tcp_from(local, to).await;
    let asked = s
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, s.read_to_end(&mut answer)).await;
    asked.is_ok() && matches!(read, Ok(Ok(_))) && answer.starts_with(b"HTTP/1.1 200")
}

/// The value of `banter_sockets_closed_total{reason=...}` (the registry is per process, so other
/// tests may have added to it: compare with `>=`).
async fn sockets_closed(server: &TestServer, reason: &str) -> u64 {
    let text = reqwest::get(server.http("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let key = format!("banter_sockets_closed_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn silent_and_half_preface_sockets_are_closed_within_the_header_timeout() {
    let timeout = Duration::from_secs(2);
    let server = start_server_with(|c| c.http_header_timeout = timeout).await;
    let t0 = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..300 {
        sockets.push(tcp_from(STRANGER, server.addr).await);
    }
    for _ in 0..50 {
        let mut s = tcp_from(STRANGER, server.addr).await;
        // 16 of the 24 bytes of the HTTP/2 connection preface.
        s.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
        sockets.push(s);
    }
    // Meanwhile other clients are served at once.
    assert!(healthz_from(PROXY, server.addr).await);
    let mut ws = Client::connect(&server).await;
    ws.join("lobby", "ada").await;

    let by = t0 + timeout + WAIT;
    let closed = join_all(sockets.into_iter().map(|s| closed_by(s, by))).await;
    let took = t0.elapsed();
    let open = closed.iter().filter(|c| !**c).count();
    println!("350 silent/half-preface sockets: {open} open after {took:?} (timeout {timeout:?})");
    assert_eq!(open, 0, "sockets still open {took:?} after connecting");
    assert!(sockets_closed(&server, "no_request").await >= 350);
    // The WebSocket, past its first request, was not affected.
    ws.say("lobby", "still here", None).await;
    assert!(message(&ws.recv().await).is_some());
}

#[tokio::test]
async fn over_tls_the_handshake_counts_inside_the_first_request_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let timeout = Duration::from_secs(2);
    let server = start_server_with(|c| {
        c.tls_cert = Some(dir.path().join("cert.pem"));
        c.tls_key = Some(dir.path().join("key.pem"));
        // Far longer than the deadline: only the deadline can close these in time.
        c.tls_handshake_timeout = Duration::from_secs(600);
        c.http_header_timeout = timeout;
    })
    .await;
    let t0 = Instant::now();
    // One says nothing at all; one completes the handshake, then says nothing.
    let silent = tcp_from(STRANGER, server.addr).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tcp = tcp_from(STRANGER, server.addr).await;
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let by = t0 + timeout + WAIT;
    assert!(closed_by(silent, by).await, "silent TLS socket still open");
    let mut buf = [0u8; 256];
    let end = tokio::time::timeout_at(by.into(), tls.read(&mut buf)).await;
    assert!(
        matches!(end, Ok(Ok(0) | Err(_))),
        "a handshaken but silent TLS socket is still open after {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_responses_is_closed_by_the_write_timeout() {
    let server = start_server_with(|c| {
        c.write_timeout = Duration::from_secs(2);
        // Far longer than the test: only the write timeout can close this client.
        c.http_header_timeout = Duration::from_secs(600);
    })
    .await;
    // A small receive window, so the server's writes block soon.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(SocketAddr::from((STRANGER, 0))).unwrap();
    let stalled = socket.connect(server.addr).await.unwrap();
    let (_never_read, mut write) = stalled.into_split();
    // Pipelined requests, never reading a response: the writes fail once the server gives up.
    let requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(64);
    let t0 = Instant::now();
    let writer = tokio::spawn(async move {
        let mut sent = 0usize;
        loop {
            if write.write_all(&requests).await.is_err() {
                return sent;
            }
            sent += 64;
        }
    });
    let sent = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the stalled reader is still open after 60 s")
        .unwrap();
    println!(
        "stalled reader closed after {:?} ({sent} requests written)",
        t0.elapsed()
    );
    assert!(sockets_closed(&server, "write_timeout").await >= 1);
    // Readers that keep up are served as before.
    assert!(healthz_from(STRANGER, server.addr).await);
}

#[tokio::test]
async fn one_address_holds_at_most_its_tcp_connections_and_proxies_are_not_counted() {
    let server = start_server_with(|c| {
        c.max_tcp_connections_per_ip = 4;
        c.trusted_proxies = vec![parse_net("127.0.0.3").unwrap()];
        // Held sockets must stay open for the whole test.
        c.http_header_timeout = Duration::from_secs(600);
    })
    .await;
    // Two WebSockets (which keep their slot after the upgrade) and two silent sockets.
    let mut websockets = Vec::new();
    for _ in 0..2 {
        let tcp = tcp_from(STRANGER, server.addr).await;
        let (ws, _) = tokio_tungstenite::client_async(server.ws_url(), tcp)
            .await
            .expect("within the cap");
        websockets.push(ws);
    }
    let _silent = [
        tcp_from(STRANGER, server.addr).await,
        tcp_from(STRANGER, server.addr).await,
    ];
    let before = sockets_closed(&server, "per_ip").await;
    // The fifth is closed at once, before it could send anything.
    let fifth = tcp_from(STRANGER, server.addr).await;
    assert!(closed_by(fifth, Instant::now() + WAIT).await);
    assert!(!healthz_from(STRANGER, server.addr).await);
    assert!(sockets_closed(&server, "per_ip").await >= before + 2);
    // Another address is served; a trusted proxy is not counted.
    assert!(healthz_from(PROXY, server.addr).await);
    let mut through_proxy = Vec::new();
    for _ in 0..6 {
        through_proxy.push(tcp_from(OTHER_PROXY, server.addr).await);
    }
    assert!(healthz_from(OTHER_PROXY, server.addr).await);
    // Closing a WebSocket frees its slot.
    drop(websockets.pop());
    let deadline = Instant::now() + WAIT;
    while !healthz_from(STRANGER, server.addr).await {
        assert!(Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A WebSocket upgrade from `local` claiming `X-Forwarded-For: xff`; `Err(status)` if refused.
async fn ws_as(
    server: &TestServer,
    local: [u8; 4],
    xff: &str,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, u16> {
    let tcp = tcp_from(local, server.addr).await;
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("x-forwarded-for", xff.parse().unwrap());
    match tokio_tungstenite::client_async(req, tcp).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

/// `GET /api/rooms` from `local` claiming `X-Forwarded-For: xff`; the status.
async fn get_as(http: &reqwest::Client, server: &TestServer, xff: &str) -> u16 {
    http.get(server.http("/api/rooms"))
        .header("x-forwarded-for", xff)
        .send()
        .await
        .expect("get")
        .status()
        .as_u16()
}

fn http_from(local: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(local))
        .build()
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_buckets() {
    let server = start_server_with(|c| {
        c.trusted_proxies = vec![parse_net("127.0.0.1").unwrap()];
        c.max_connections_per_ip = 2;
        c.http_rate_per_sec = 1;
        c.http_rate_burst = 5;
    })
    .await;
    // WebSockets: two for 203.0.113.1 through the proxy, a third refused; 203.0.113.2 is served.
    // A client's own claim left of what the proxy appended changes nothing.
    let _a1 = ws_as(&server, PROXY, "203.0.113.1").await.expect("a1");
    let _a2 = ws_as(&server, PROXY, "198.51.100.9, 203.0.113.1")
        .await
        .expect("a2");
    assert_eq!(ws_as(&server, PROXY, "203.0.113.1").await.err(), Some(429));
    let _b = ws_as(&server, PROXY, "203.0.113.2").await.expect("b");
    // An untrusted peer is one address whatever it claims.
    let _s1 = ws_as(&server, STRANGER, "192.0.2.1").await.expect("s1");
    let _s2 = ws_as(&server, STRANGER, "192.0.2.2").await.expect("s2");
    assert_eq!(ws_as(&server, STRANGER, "192.0.2.3").await.err(), Some(429));

    // HTTP rate: through the proxy, a fresh client each time is never limited (each has its own
    // bucket), and one client flooding is limited while the next is served at once.
    let proxy = http_from(PROXY);
    for i in 0..30 {
        assert_eq!(get_as(&proxy, &server, &format!("10.9.0.{i}")).await, 200);
    }
    let mut refused = false;
    for _ in 0..1000 {
        if get_as(&proxy, &server, "203.0.113.7").await == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "one forwarded client was never rate limited");
    assert_eq!(get_as(&proxy, &server, "203.0.113.8").await, 200);
    // From an untrusted peer, a fresh X-Forwarded-For each time does not escape the limit.
    let stranger = http_from(STRANGER);
    let mut refused = false;
    for i in 0..1000 {
        if get_as(&stranger, &server, &format!("10.8.{}.{}", i / 250, i % 250)).await == 429 {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "an untrusted X-Forwarded-For escaped the rate limit"
    );
}
