//! The server's tests' harness: a Banter server in this process on a free loopback port
//! ([`start_server`], configured through [`Config`]), and, from `banter-testkit`, a real
//! WebSocket client and the HTTP helpers. `process` starts the binary.
#![allow(dead_code, unused_imports)]

pub mod process;
pub mod push;
pub mod rooms;

use std::net::SocketAddr;

use banter_server::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use banter_testkit::{
    Client, Endpoint, WAIT, Ws, get_json, get_json_bearer, join_msg, message, post, replay_bounds,
    room_names,
};

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub handle: JoinHandle<std::io::Result<()>>,
    /// The server's own data directory (a real SQLite file), removed with the server.
    pub data: tempfile::TempDir,
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    /// Triggers a graceful shutdown (as SIGTERM does).
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A server with default settings but for the rate limits (WebSocket and HTTP), which tests lift
/// unless they test them.
pub async fn start_server() -> TestServer {
    start_server_with(|_| {}).await
}

pub async fn start_server_with(tune: impl FnOnce(&mut Config)) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let data = tempfile::tempdir().expect("a temporary data directory");
    let mut cfg = Config::with_listen(addr);
    cfg.rate_per_sec = 0;
    cfg.http_rate_per_sec = 0;
    cfg.data_dir = data.path().to_owned();
    tune(&mut cfg);
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(banter_server::run(listener, cfg, async move {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        stop: Some(stop),
        handle,
        data,
    }
}

/// A server in token mode (`--auth token`) that accepts tokens signed with `secret`.
pub async fn token_server(secret: &str) -> TestServer {
    start_server_with(|c| {
        c.auth = banter_server::config::AuthKind::Token;
        c.auth_secret = Some(secret.into());
    })
    .await
}

/// A token for `sub` signed with `secret`, valid for an hour, with a `rooms` claim if given.
pub fn sign(secret: &str, sub: &str, rooms: Option<&[&str]>) -> String {
    banter_server::auth::TokenIdentity::new(secret.as_bytes(), banter_protocol::Limits::default())
        .issue(
            sub,
            std::time::Duration::from_secs(3600),
            rooms.map(|r| r.iter().map(|s| s.to_string()).collect()),
        )
        .expect("sign")
}

/// A connection to a token-mode `server` (its `welcome` says so), signed in with `token`.
pub async fn sign_in(server: &TestServer, token: String) -> Client {
    use banter_protocol::{AuthMode, ClientMsg, ServerMsg};
    let mut c = Client::connect_raw(&server.ws_url()).await;
    match c.recv().await {
        ServerMsg::Welcome { auth, .. } => assert_eq!(auth, AuthMode::Token),
        other => panic!("expected welcome, got {other:?}"),
    }
    c.send(&ClientMsg::Auth { token }).await;
    match c
        .recv_until(|m| matches!(m, ServerMsg::Authenticated { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Authenticated { .. } => c,
        other => panic!("not signed in: {other:?}"),
    }
}

/// A TLS client that trusts exactly `trusted` (self-signed test certificates).
pub fn tls_connector(
    trusted: &[&rustls::pki_types::CertificateDer<'static>],
) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in trusted {
        roots.add((*c).clone()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
}

impl Endpoint for TestServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}
