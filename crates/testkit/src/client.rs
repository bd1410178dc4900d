//! [`Client`]: a typed protocol client over a real WebSocket, for tests that act as a user.

use banter_protocol::{ChatMessage, ClientMsg, DirectMessage, ErrorCode, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Endpoint, WAIT};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A typed protocol client.
pub struct Client {
    pub ws: Ws,
}

impl Client {
    /// Connects to `/ws` and consumes the `welcome`.
    pub async fn connect(server: &impl Endpoint) -> Client {
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

    /// Sends a request that is acked or refused (`send`, `edit`, `delete`, `react`) and waits for
    /// its answer: the ack's `seq`, or the error's code.
    pub async fn ask(&mut self, msg: ClientMsg) -> Result<u64, ErrorCode> {
        self.send(&msg).await;
        match self
            .recv_until(|m| matches!(m, ServerMsg::Ack { .. } | ServerMsg::Error { .. }))
            .await
        {
            ServerMsg::Ack { seq, .. } => Ok(seq),
            ServerMsg::Error { code, .. } => Err(code),
            _ => unreachable!("recv_until returns what its predicate accepts"),
        }
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
        self.send_join(room, name, None, None).await;
        match self
            .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
            .await
        {
            ServerMsg::Joined { users, head, .. } => (users, head),
            _ => unreachable!(),
        }
    }

    /// Asks to join `room` as `name`; the answer, `joined` or `error`, is returned for the caller
    /// to read.
    pub async fn try_join(&mut self, room: &str, name: &str) -> ServerMsg {
        self.send_join(room, name, None, None).await;
        self.recv_until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
            .await
    }

    /// Joins `room` resuming after `since` in `epoch`: the `joined` epoch and the `replay`
    /// bracket `(room, from, to, complete)`; the replayed messages follow for the caller.
    pub async fn resume(
        &mut self,
        room: &str,
        since: u64,
        epoch: Option<&str>,
    ) -> (String, (String, u64, u64, bool)) {
        self.send_join(room, "reader", Some(since), epoch).await;
        let (_, epoch) = self.joined().await;
        (epoch, replay_bounds(self.recv().await))
    }

    /// Sends a `join` of `room` as `name`, resuming after `since` in `epoch` when given.
    async fn send_join(&mut self, room: &str, name: &str, since: Option<u64>, epoch: Option<&str>) {
        self.send(&ClientMsg::Join {
            room: room.into(),
            name: name.into(),
            since,
            epoch: epoch.map(Into::into),
            with: None,
        })
        .await;
    }

    pub async fn say(&mut self, room: &str, text: &str, client_id: Option<&str>) {
        self.send(&ClientMsg::Send {
            room: room.into(),
            text: text.into(),
            client_id: client_id.map(Into::into),
            reply_to: None,
            files: Vec::new(),
        })
        .await;
    }

    /// The next `joined`: `(head, epoch)`.
    pub async fn joined(&mut self) -> (u64, String) {
        match self
            .recv_until(|m| matches!(m, ServerMsg::Joined { .. }))
            .await
        {
            ServerMsg::Joined { head, epoch, .. } => (head, epoch),
            _ => unreachable!(),
        }
    }

    /// The next chat message, skipping anything else.
    pub async fn next_message(&mut self) -> ChatMessage {
        match self.recv_until(|m| message(m).is_some()).await {
            ServerMsg::Message(m) => m,
            _ => unreachable!(),
        }
    }

    /// The next `presence` frame: `(user, state)`.
    pub async fn next_presence(&mut self) -> (String, String) {
        match self
            .recv_until(|m| matches!(m, ServerMsg::Presence { .. }))
            .await
        {
            ServerMsg::Presence { user, state, .. } => (
                user,
                serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ),
            _ => unreachable!(),
        }
    }

    /// Asks, as `name`, to join the private conversation with `with` (resuming after `since`);
    /// the answer is for the caller to read.
    pub async fn join_with(&mut self, name: &str, with: &str, since: Option<u64>) {
        self.send(&ClientMsg::Join {
            room: String::new(),
            name: name.into(),
            since,
            epoch: None,
            with: Some(with.into()),
        })
        .await;
    }

    /// Sends a direct message and returns its echo (which names the conversation it is stored
    /// in).
    pub async fn direct(&mut self, to: &str, text: &str, client_id: Option<&str>) -> DirectMessage {
        self.send(&ClientMsg::Direct {
            to: to.into(),
            text: text.into(),
            client_id: client_id.map(Into::into),
        })
        .await;
        match self.recv_until(|m| matches!(m, ServerMsg::Direct(_))).await {
            ServerMsg::Direct(dm) => dm,
            _ => unreachable!(),
        }
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

/// A `join` of `room` as `name` (empty: the signed-in user's name), from the start.
pub fn join_msg(room: &str, name: &str) -> ClientMsg {
    ClientMsg::Join {
        room: room.into(),
        name: name.into(),
        since: None,
        epoch: None,
        with: None,
    }
}

/// `(room, from, to, complete)` of a `replay` frame; panics on anything else.
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
