//! The connection task behind [`Client`]: connect, authenticate, resume, then relay frames and
//! commands until the connection drops; then wait out the backoff and do it again.
//!
//! The [`Session`](crate::Session) it owns decides what to resume; this file only moves frames.
//! Commands given while disconnected are recorded in the session and go out on the next resume.

use std::collections::HashMap;
use std::time::Duration;

use banter_client_core::{PendingOp, Reconnect};
use banter_protocol::{AuthMode, ChatMessage, ClientMsg, ErrorCode, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::session::{Event, Session};
use crate::{ClientConfig, ClientError, new_client_id};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The first frame (and the auth answer) must arrive within this time.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// Events waiting for the caller; a caller that stops reading slows only the reading side.
const EVENT_QUEUE: usize = 1024;

enum Cmd {
    Join {
        room: String,
        since: Option<u64>,
    },
    Send {
        room: String,
        text: String,
        op: PendingOp,
        done: oneshot::Sender<Result<u64, ClientError>>,
    },
    Messages {
        room: String,
        done: oneshot::Sender<Vec<ChatMessage>>,
    },
    Repeats {
        room: String,
        done: oneshot::Sender<u64>,
    },
}

/// A WebSocket client that stays connected. See the crate docs. Dropping it closes the socket.
pub struct Client {
    cmds: mpsc::UnboundedSender<Cmd>,
    events: mpsc::Receiver<Event>,
}

impl Client {
    /// Starts the connection task (connecting in the background).
    pub fn start(cfg: ClientConfig) -> Result<Client, ClientError> {
        let url = cfg.ws_url()?;
        let tls = if cfg.is_tls()? {
            Connector::Rustls(crate::tls::client_config(cfg.ca_file.as_deref())?)
        } else {
            Connector::Plain
        };
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (tx, events) = mpsc::channel(EVENT_QUEUE);
        let task = Task {
            session: Session::keeping(cfg.name.clone(), cfg.keep),
            reconnect: cfg.backoff.attempts(),
            cfg,
            url,
            tls,
            events: tx,
            waiting: HashMap::new(),
            cmds: cmd_rx,
        };
        tokio::spawn(task.run());
        Ok(Client { cmds, events })
    }

    /// Follows `room`, from after `since` if given (else only new messages).
    pub fn join(&self, room: &str, since: Option<u64>) -> Result<(), ClientError> {
        self.cmds
            .send(Cmd::Join {
                room: room.to_owned(),
                since,
            })
            .map_err(|_| ClientError::Stopped)
    }

    /// Posts `text` to `room` (join it first) and waits until the server stored it: re-sent
    /// with the same `client_id` across reconnects. Returns its `seq`.
    pub async fn send(&self, room: &str, text: &str) -> Result<u64, ClientError> {
        self.request(room, text, PendingOp::Send).await
    }

    /// Posts `text` to `room` as a reply to message `reply_to` (v1.2; a reply to a reply joins
    /// the root's thread). Returns its `seq`.
    pub async fn reply(&self, room: &str, reply_to: u64, text: &str) -> Result<u64, ClientError> {
        self.request(room, text, PendingOp::Reply { reply_to })
            .await
    }

    /// Replaces the text of your message `seq` (v1.2). Returns the `seq` of the change entry.
    pub async fn edit(&self, room: &str, seq: u64, text: &str) -> Result<u64, ClientError> {
        self.request(room, text, PendingOp::Edit { seq }).await
    }

    /// Deletes message `seq` (v1.2). Returns the `seq` of the change entry.
    pub async fn delete(&self, room: &str, seq: u64) -> Result<u64, ClientError> {
        self.request(room, "", PendingOp::Delete { seq }).await
    }

    /// Adds (with `remove`, takes back) your reaction `emoji` to message `seq` (v1.2). Returns
    /// the entry's `seq` (0: it changed nothing: given twice, or taken back when not given).
    pub async fn react(
        &self,
        room: &str,
        seq: u64,
        emoji: &str,
        remove: bool,
    ) -> Result<u64, ClientError> {
        let emoji = emoji.to_owned();
        let op = PendingOp::React { seq, emoji, remove };
        self.request(room, "", op).await
    }

    /// Any request, kept by `client_id` until its `ack` (re-sent across reconnects).
    async fn request(&self, room: &str, text: &str, op: PendingOp) -> Result<u64, ClientError> {
        let (done, rx) = oneshot::channel();
        self.cmds
            .send(Cmd::Send {
                room: room.to_owned(),
                text: text.to_owned(),
                op,
                done,
            })
            .map_err(|_| ClientError::Stopped)?;
        rx.await.map_err(|_| ClientError::Stopped)?
    }

    /// The messages kept of `room` ([`ClientConfig::keep`]), oldest first, in their current
    /// state. The answer comes from the connection task: keep reading [`Client::next_event`]
    /// meanwhile (a full event queue holds the task).
    pub async fn messages(&self, room: &str) -> Result<Vec<ChatMessage>, ClientError> {
        let (done, rx) = oneshot::channel();
        let room = room.to_owned();
        self.cmds
            .send(Cmd::Messages { room, done })
            .map_err(|_| ClientError::Stopped)?;
        rx.await.map_err(|_| ClientError::Stopped)
    }

    /// How many frames of `room` were dropped as repeats of an entry already taken (the server
    /// promises none: see `docs/guarantees.md`).
    pub async fn repeats(&self, room: &str) -> Result<u64, ClientError> {
        let (done, rx) = oneshot::channel();
        let room = room.to_owned();
        self.cmds
            .send(Cmd::Repeats { room, done })
            .map_err(|_| ClientError::Stopped)?;
        rx.await.map_err(|_| ClientError::Stopped)
    }

    /// The next event; `None` once the client has stopped for good (for example a refused
    /// token).
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

/// How one connection ended.
enum Ended {
    /// Reconnect after the backoff.
    Dropped(String),
    /// The caller is gone, or the server refused us for good.
    Stop,
}

struct Task {
    cfg: ClientConfig,
    url: String,
    tls: Connector,
    session: Session,
    reconnect: Reconnect,
    events: mpsc::Sender<Event>,
    /// Callers waiting for their send's `ack`, by `client_id`.
    waiting: HashMap<String, oneshot::Sender<Result<u64, ClientError>>>,
    cmds: mpsc::UnboundedReceiver<Cmd>,
}

impl Task {
    async fn run(mut self) {
        loop {
            let connect = tokio_tungstenite::connect_async_tls_with_config(
                self.url.as_str(),
                None,
                true,
                Some(self.tls.clone()),
            );
            let ended = match connect.await {
                Ok((ws, _)) => self.connected(ws).await,
                Err(e) => Ended::Dropped(format!("cannot connect: {e}")),
            };
            match ended {
                Ended::Stop => break,
                Ended::Dropped(reason) => {
                    tracing::warn!("{reason}; reconnecting");
                    if self.emit(Event::Disconnected { reason }).await.is_err() {
                        break;
                    }
                }
            }
            let delay = Duration::from_millis(self.reconnect.delay_ms().into());
            if !self.wait(delay).await {
                break;
            }
        }
        for (_, done) in self.waiting.drain() {
            let _ = done.send(Err(ClientError::Stopped));
        }
    }

    /// Sleeps `delay` while still taking commands. `false` when the caller is gone.
    async fn wait(&mut self, delay: Duration) -> bool {
        let until = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                cmd = self.cmds.recv() => match cmd {
                    Some(cmd) => { self.command(cmd); }
                    None => return false,
                },
            }
        }
    }

    /// Records a command in the session; returns the frame to send now if connected.
    fn command(&mut self, cmd: Cmd) -> Option<ClientMsg> {
        match cmd {
            Cmd::Join { room, since } => Some(self.session.join(&room, since)),
            Cmd::Repeats { room, done } => {
                let _ = done.send(self.session.repeats(&room));
                None
            }
            Cmd::Messages { room, done } => {
                let held = self.session.messages(&room).into_iter();
                let _ = done.send(held.map(std::sync::Arc::unwrap_or_clone).collect());
                None
            }
            Cmd::Send {
                room,
                text,
                op,
                done,
            } => {
                if !self.session.follows(&room) {
                    let _ = done.send(Err(ClientError::Refused {
                        code: ErrorCode::NotJoined.to_string(),
                        message: format!("join {room} before sending to it"),
                    }));
                    return None;
                }
                let id = new_client_id();
                self.waiting.insert(id.clone(), done);
                self.session.submit(&room, &text, op, &id)
            }
        }
    }

    async fn emit(&self, e: Event) -> Result<(), ()> {
        self.events.send(e).await.map_err(|_| ())
    }

    async fn connected(&mut self, mut ws: Ws) -> Ended {
        if let Err(end) = self.handshake(&mut ws).await {
            return end;
        }
        for frame in self.session.resume_frames() {
            if let Err(e) = send(&mut ws, &frame).await {
                return Ended::Dropped(e);
            }
        }
        self.reconnect.connected();
        if self.emit(Event::Connected).await.is_err() {
            return Ended::Stop;
        }
        loop {
            tokio::select! {
                cmd = self.cmds.recv() => {
                    let Some(cmd) = cmd else {
                        let _ = ws.close(None).await;
                        return Ended::Stop;
                    };
                    if let Some(frame) = self.command(cmd)
                        && let Err(e) = send(&mut ws, &frame).await
                    {
                        return Ended::Dropped(e);
                    }
                }
                frame = tokio::time::timeout(self.cfg.dead_after, ws.next()) => {
                    let text = match frame {
                        Err(_) => return Ended::Dropped("the server went silent".into()),
                        Ok(None) => return Ended::Dropped("connection closed".into()),
                        Ok(Some(Err(e))) => return Ended::Dropped(format!("connection lost: {e}")),
                        Ok(Some(Ok(Message::Text(t)))) => t,
                        Ok(Some(Ok(Message::Close(f)))) => return closed(f),
                        Ok(Some(Ok(_))) => continue,
                    };
                    let Ok(msg) = serde_json::from_str::<ServerMsg>(&text) else { continue };
                    if self.server(msg).await.is_err() {
                        return Ended::Stop;
                    }
                    for frame in self.session.take_frames() {
                        if let Err(e) = send(&mut ws, &frame).await {
                            return Ended::Dropped(e);
                        }
                    }
                }
            }
        }
    }

    /// Hands a server frame to the session, settles waiting sends, reports events.
    async fn server(&mut self, msg: ServerMsg) -> Result<(), ()> {
        for event in self.session.on_server(msg) {
            match &event {
                Event::Acked { client_id, seq, .. } => {
                    if let Some(done) = self.waiting.remove(client_id) {
                        let _ = done.send(Ok(*seq));
                    }
                }
                Event::Refused {
                    code,
                    message,
                    client_id: Some(id),
                } => {
                    if let Some(done) = self.waiting.remove(id) {
                        let _ = done.send(Err(ClientError::Refused {
                            code: code.to_string(),
                            message: message.clone(),
                        }));
                    }
                }
                _ => {}
            }
            self.emit(event).await?;
        }
        Ok(())
    }

    /// Waits for `welcome`; with `auth: "token"`, authenticates.
    async fn handshake(&mut self, ws: &mut Ws) -> Result<(), Ended> {
        let welcome = self.read(ws).await?;
        let ServerMsg::Welcome { auth, .. } = welcome else {
            return Err(Ended::Dropped("the first frame was not welcome".into()));
        };
        if auth != AuthMode::Token {
            return Ok(());
        }
        let Some(token) = self.cfg.token.clone() else {
            return Err(self.fatal(ClientError::TokenRequired).await);
        };
        send(ws, &ClientMsg::Auth { token })
            .await
            .map_err(Ended::Dropped)?;
        match self.read(ws).await? {
            ServerMsg::Authenticated { .. } => Ok(()),
            ServerMsg::Error {
                code: ErrorCode::Unauthorized,
                message,
                ..
            } => {
                let e = ClientError::Refused {
                    code: "unauthorized".into(),
                    message,
                };
                Err(self.fatal(e).await)
            }
            other => Err(Ended::Dropped(format!(
                "unexpected answer to auth: {other:?}"
            ))),
        }
    }

    /// Reports a refusal that reconnecting would not fix, and stops.
    async fn fatal(&mut self, e: ClientError) -> Ended {
        tracing::error!("{e}");
        let _ = self
            .emit(Event::Refused {
                code: ErrorCode::Unauthorized,
                message: e.to_string(),
                client_id: None,
            })
            .await;
        Ended::Stop
    }

    async fn read(&mut self, ws: &mut Ws) -> Result<ServerMsg, Ended> {
        let deadline = tokio::time::Instant::now() + WELCOME_TIMEOUT;
        loop {
            let frame = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| Ended::Dropped("no welcome from the server".into()))?;
            match frame {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(&t)
                        .map_err(|e| Ended::Dropped(format!("not a server frame: {e}")));
                }
                Some(Ok(Message::Close(f))) => return Err(closed(f)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(Ended::Dropped(format!("connection lost: {e}"))),
                None => return Err(Ended::Dropped("connection closed".into())),
            }
        }
    }
}

/// 4001 (token refused) is final; every other close is worth a reconnect.
fn closed(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> Ended {
    match frame {
        Some(f) if u16::from(f.code) == banter_protocol::close::UNAUTHORIZED => {
            tracing::error!("the server refused the token: {}", f.reason);
            Ended::Stop
        }
        Some(f) => Ended::Dropped(format!(
            "closed by the server: {} {}",
            u16::from(f.code),
            f.reason
        )),
        None => Ended::Dropped("closed by the server".into()),
    }
}

async fn send(ws: &mut Ws, msg: &ClientMsg) -> Result<(), String> {
    let text = serde_json::to_string(msg).map_err(|e| e.to_string())?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("connection lost: {e}"))
}
