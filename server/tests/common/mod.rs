//! Test harness: a real Banter server on a free loopback port, and a real WebSocket client.
#![allow(dead_code)]

pub mod process;

use std::net::SocketAddr;
use std::time::Duration;

use banter_protocol::{ClientMsg, ServerMsg};
use banter_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(10);

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

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A typed protocol client.
pub struct Client {
    pub ws: Ws,
}

impl Client {
    /// Connects to `/ws` and consumes the `welcome`.
    pub async fn connect(server: &TestServer) -> Client {
        let mut c = Client::connect_raw(&server.ws_url()).await;
        match c.recv().await {
            ServerMsg::Welcome { .. } => c,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn connect_raw(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
            .expect("connect");
        Client { ws }
    }

    pub async fn send(&mut self, msg: &ClientMsg) {
        self.send_raw(&msg.to_json()).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// The next protocol frame (pings are answered and skipped).
    pub async fn recv(&mut self) -> ServerMsg {
        let text = self.recv_text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad frame {text}: {e}"))
    }

    pub async fn recv_text(&mut self) -> String {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("socket ended")
                .expect("socket error");
            match msg {
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Skips frames until one matches.
    pub async fn recv_until(&mut self, mut pred: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let m = self.recv().await;
            if pred(&m) {
                return m;
            }
        }
    }

    /// Joins and returns `(users, head)`.
    pub async fn join(&mut self, room: &str, name: &str) -> (Vec<String>, u64) {
        self.send(&ClientMsg::Join {
            room: room.into(),
            name: name.into(),
            since: None,
            epoch: None,
            with: None,
        })
        .await;
        match self
            .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
            .await
        {
            ServerMsg::Joined { users, head, .. } => (users, head),
            _ => unreachable!(),
        }
    }

    pub async fn say(&mut self, room: &str, text: &str, client_id: Option<&str>) {
        self.send(&ClientMsg::Send {
            room: room.into(),
            text: text.into(),
            client_id: client_id.map(Into::into),
        })
        .await;
    }

    /// The next error frame's code, skipping anything else.
    pub async fn expect_error(&mut self) -> String {
        match self
            .recv_until(|m| matches!(m, ServerMsg::Error { .. }))
            .await
        {
            ServerMsg::Error { code, .. } => code.as_str().to_owned(),
            _ => unreachable!(),
        }
    }

    /// Reads until the server closes; returns its close code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for close");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => return u16::from(CloseCode::Status),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close frame: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }
}

/// `(room, from, to, complete)` of a `replay` frame; panics on anything else.
#[allow(dead_code)]
pub fn replay_bounds(m: ServerMsg) -> (String, u64, u64, bool) {
    match m {
        ServerMsg::Replay {
            room,
            from,
            to,
            complete,
            ..
        } => (room, from, to, complete),
        other => panic!("expected replay, got {other:?}"),
    }
}

pub fn message(m: &ServerMsg) -> Option<&banter_protocol::ChatMessage> {
    match m {
        ServerMsg::Message(msg) => Some(msg),
        _ => None,
    }
}

/// Posts over HTTP; returns the status and JSON body.
pub async fn post(
    server: &TestServer,
    room: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(server.http(&format!("/api/rooms/{room}/messages")))
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

pub async fn get_json(server: &TestServer, path: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(server.http(path)).await.expect("get");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// `GET` with `Authorization: Bearer`; returns the status and JSON body.
pub async fn get_json_bearer(
    server: &TestServer,
    path: &str,
    token: &str,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .get(server.http(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}
