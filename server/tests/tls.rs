//! Native TLS through the real binary: `https://` and `wss://` with a certificate made here, a
//! reload to a new certificate (SIGHUP) while clients stay connected, and clear start errors.

mod common;

use std::path::Path;

use banter_protocol::{ClientMsg, ServerMsg};
use common::process::{Proc, banter, scratch};
use common::{WAIT, tls_connector};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// A self-signed certificate for `localhost`, written as PEM files; returns its DER.
fn make_cert(dir: &Path) -> CertificateDer<'static> {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
    std::fs::write(dir.join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    ck.cert.der().clone()
}

async fn tls(server: &Proc, trusted: &[&CertificateDer<'static>]) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(WAIT, tls_connector(trusted).connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("handshake")
}

type Wss = WebSocketStream<TlsStream<TcpStream>>;

async fn wss(server: &Proc, trusted: &[&CertificateDer<'static>]) -> Wss {
    let stream = tls(server, trusted).await;
    let (ws, _) = tokio_tungstenite::client_async("wss://localhost/ws", stream)
        .await
        .expect("wss upgrade");
    ws
}

async fn send(ws: &mut Wss, msg: ClientMsg) {
    ws.send(Message::text(msg.to_json())).await.unwrap();
}

async fn recv_until(ws: &mut Wss, pred: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = frame {
            let m: ServerMsg = serde_json::from_str(&t).unwrap();
            if pred(&m) {
                return m;
            }
        }
    }
}

async fn join(ws: &mut Wss, name: &str) {
    send(
        ws,
        ClientMsg::Join {
            room: "lobby".into(),
            name: name.into(),
            since: None,
            epoch: None,
            with: None,
        },
    )
    .await;
    recv_until(ws, |m| matches!(m, ServerMsg::Joined { .. })).await;
}

async fn chat(from: &mut Wss, to: &mut Wss, text: &str) {
    send(
        from,
        ClientMsg::Send {
            room: "lobby".into(),
            text: text.into(),
            client_id: None,
            reply_to: None,
            files: Vec::new(),
        },
    )
    .await;
    recv_until(
        to,
        |m| matches!(m, ServerMsg::Message(msg) if msg.text == text),
    )
    .await;
}

#[tokio::test]
async fn wss_chat_survives_a_certificate_reload() {
    let dir = scratch("tls-reload");
    let first = make_cert(&dir);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let server = Proc::start(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--tls-watch-interval",
        "0s",
        "--store",
        "memory",
    ])
    .await;

    // https:// on the same port.
    let mut https = tls(&server, &[&first]).await;
    https
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    https.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut ada = wss(&server, &[&first]).await;
    let mut bob = wss(&server, &[&first]).await;
    join(&mut ada, "ada").await;
    join(&mut bob, "bob").await;
    chat(&mut ada, &mut bob, "before the reload").await;

    // A new certificate and key, then SIGHUP: new handshakes present it.
    let second = make_cert(&dir);
    server.signal("HUP").await;
    let both = [&first, &second];
    let presented = tokio::time::timeout(WAIT, async {
        loop {
            let s = tls(&server, &both).await;
            let peer = s.get_ref().1.peer_certificates().unwrap()[0].clone();
            if peer == second {
                return peer;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the new certificate within the wait");
    assert_eq!(presented, second);
    // A client trusting only the old certificate is now refused...
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    assert!(tls_connector(&[&first]).connect(name, tcp).await.is_err());
    // ...while the connections made before the reload still chat, with new ones too.
    chat(&mut bob, &mut ada, "after the reload").await;
    let mut cy = wss(&server, &[&second]).await;
    join(&mut cy, "cy").await;
    chat(&mut ada, &mut cy, "hello cy").await;

    // `banter post` over https:// and wss://, trusting the (new) certificate from its file.
    let url = format!("https://localhost:{}", server.addr.port());
    for (text, extra) in [("cli over https", None), ("cli over wss", Some("--ws"))] {
        let out = banter()
            .args(["post", "lobby", text, "--url", &url])
            .args(["--ca-cert", cert.to_str().unwrap()])
            .args(extra)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        recv_until(
            &mut ada,
            |m| matches!(m, ServerMsg::Message(msg) if msg.text == text),
        )
        .await;
    }
}

async fn start_error(args: &[&str]) -> String {
    let out = banter()
        .args(["--listen", "127.0.0.1:0", "--store", "memory"])
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_missing_or_mismatched_key_is_a_clear_error_at_start() {
    let dir = scratch("tls-errors");
    make_cert(&dir);
    let cert = dir.join("cert.pem");
    let missing = dir.join("nope.pem");
    let err = start_error(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        missing.to_str().unwrap(),
    ])
    .await;
    assert!(
        err.contains("cannot read the TLS key") && err.contains("nope.pem"),
        "{err}"
    );

    // The key of another certificate.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    make_cert(&other);
    let err = start_error(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        other.join("key.pem").to_str().unwrap(),
    ])
    .await;
    assert!(err.contains("does not fit the certificate"), "{err}");

    let err = start_error(&["--tls-cert", cert.to_str().unwrap()]).await;
    assert!(err.contains("--tls-key"), "{err}");
}
