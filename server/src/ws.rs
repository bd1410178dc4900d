//! WebSocket connections: the door (`GET /ws` and classic `GET /`), then one task per socket.
//!
//! The door refuses an upgrade with a plain HTTP error when the `Origin` is not allowed (403) or
//! the server is full (503). After the upgrade, [`serve_socket`] runs the whole connection in one
//! task: it reads and dispatches the client's frames, writes what the hub queued for it (a batch
//! at a time: feed many frames, flush once), pings, and closes with the right code. It is generic
//! over any `Stream + Sink` of messages, so its logic does not depend on a real socket.
//!
//! How a connection ends, and the close code the client sees:
//! shutdown → 1001; outbound queue full or silent past the idle timeout → 4000; a message over
//! `max_frame_bytes` → 1009; the client closed → its own code echoed.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use banter_protocol::{
    AuthMode, ClassicMsg, ClientMsg, DEFAULT_ROOM, ErrorCode, ServerMsg, ValidationError, close,
};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::error::ApiError;
use crate::hub::{Appended, ConnectionGuard, Hub, Outbound, Peer, refusal};
use crate::outbox::Outbox;
use crate::store::StoreError;

/// Batch buffers up to this many entries are freed after each write.
const SMALL_BATCH: usize = 8;

/// Which dialect a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The v1 protocol on `/ws`.
    Typed,
    /// `{user, message}` objects on `/`, posting to and receiving from `lobby`.
    Classic,
}

/// Per-connection settings, shared by all connections.
#[derive(Debug, Clone)]
pub struct ConnSettings {
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    pub max_rooms: usize,
    pub rate: Option<Quota>,
    /// Bound on writing a close frame (and any backlog before it) to a departing client.
    pub close_grace: Duration,
    pub version: &'static str,
}

/// `GET /ws`: the typed protocol.
pub async fn ws_handler(
    State(app): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(app, &headers, ws, Mode::Typed)
}

/// `GET /`: a classic client's upgrade, or else the web app.
pub async fn root_handler(
    State(app): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => upgrade(app, &headers, ws, Mode::Classic),
        Err(_) => crate::assets::serve(uri).await,
    }
}

fn upgrade(app: AppState, headers: &HeaderMap, ws: WebSocketUpgrade, mode: Mode) -> Response {
    let origins = &app.config.allowed_origins;
    if !origins.is_empty()
        && let Some(origin) = headers.get(header::ORIGIN)
        && !origins.iter().any(|o| o.as_bytes() == origin.as_bytes())
    {
        tracing::info!(?origin, "WebSocket refused: origin not allowed");
        return ApiError::Forbidden.into_response();
    }
    let Some(guard) = app.hub.try_open_connection(app.config.max_connections) else {
        tracing::warn!("WebSocket refused: connection limit reached");
        return ApiError::Unavailable.into_response();
    };
    let cfg = &app.config;
    ws.read_buffer_size(cfg.ws_read_buffer)
        .write_buffer_size(cfg.ws_write_buffer)
        .max_message_size(cfg.max_frame_bytes)
        .max_frame_size(cfg.max_frame_bytes)
        .on_upgrade(move |socket: WebSocket| {
            let task = serve_socket(
                socket,
                app.hub.clone(),
                app.conn.clone(),
                mode,
                app.shutdown.clone(),
                app.heartbeat.clone(),
                guard,
            );
            app.tracker.track_future(task)
        })
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Shutdown,
    TooSlow,
    Idle,
    TooBig,
    ClientClosed,
    Broken,
}

impl End {
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Shutdown => (close::GOING_AWAY, "server shutting down"),
            End::TooSlow => (close::TOO_SLOW, "too slow: reconnect and resume with since"),
            End::Idle => (
                close::TOO_SLOW,
                "idle timeout: reconnect and resume with since",
            ),
            End::TooBig => (close::TOO_BIG, "message too big"),
            End::ClientClosed | End::Broken => return None,
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

/// Runs one connection to its end. `socket` is any stream/sink of WebSocket messages.
pub async fn serve_socket<S>(
    mut socket: S,
    hub: Hub,
    settings: Arc<ConnSettings>,
    mode: Mode,
    shutdown: CancellationToken,
    mut heartbeat: watch::Receiver<()>,
    _guard: ConnectionGuard,
) where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    let peer = hub.new_peer();
    let outbox = peer.outbox();
    let mut conn = Conn {
        limiter: settings.rate.map(RateLimiter::direct).map(Box::new),
        hub: hub.clone(),
        peer: peer.clone(),
        mode,
        name: None,
        rooms: Vec::new(),
        settings: settings.clone(),
    };
    match mode {
        Mode::Typed => {
            let session = uuid::Uuid::now_v7().to_string();
            peer.deliver(Outbound::Frame(
                ServerMsg::welcome(
                    session,
                    settings.version,
                    hub.limits().clone(),
                    AuthMode::Open,
                )
                .to_json()
                .into(),
            ));
        }
        Mode::Classic => {
            if let Err(e) = hub.join_classic(&peer, DEFAULT_ROOM) {
                conn.error(e.code, e.message, None);
            }
        }
    }
    tracing::debug!(conn = peer.id(), ?mode, "connected");

    let mut last_seen = Instant::now();
    // Swapped with the outbox's queue; see the end of a write for how it stays small when idle.
    let mut batch = VecDeque::new();

    // Order matters: shutdown and kicks first; then the client's frames before our writes, so
    // heavy fan-out never starves reading (a flooding client starves only its own writes, and
    // is then kicked); pings last. Pings follow one server-wide heartbeat rather than a timer
    // per connection: idle connections then cost no timer at all.
    let end = loop {
        let idle_deadline = last_seen + settings.idle_timeout;
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break End::Shutdown,
            _ = outbox.kicked() => break End::TooSlow,
            incoming = socket.next() => {
                last_seen = Instant::now();
                match incoming {
                    None => break End::ClientClosed,
                    Some(Err(e)) => break if is_too_big(e) { End::TooBig } else { End::Broken },
                    Some(Ok(Message::Text(text))) => conn.handle_text(&text),
                    Some(Ok(Message::Binary(_))) => conn.error(
                        ErrorCode::BadRequest,
                        "binary frames are not supported: send JSON text frames",
                        None,
                    ),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) => break End::ClientClosed,
                }
            }
            _ = outbox.ready() => {
                if !outbox.take(&mut batch) {
                    continue;
                }
                // Feed every frame, flush once: one write for the whole batch.
                let write = async {
                    for out in batch.drain(..) {
                        match out {
                            Outbound::Frame(f) => socket.feed(Message::Text(f)).await?,
                            Outbound::Batch(fs) => {
                                for f in fs {
                                    socket.feed(Message::Text(f)).await?;
                                }
                            }
                        }
                    }
                    socket.flush().await
                };
                if let Some(end) = guarded(write, &shutdown, outbox, idle_deadline).await {
                    break end;
                }
                // A connection that writes a little now and then (most of them) holds no batch
                // buffer between writes; a busy one keeps its buffer.
                if batch.capacity() <= SMALL_BATCH {
                    batch = VecDeque::new();
                }
            }
            beat = heartbeat.changed() => {
                // The heartbeat ends only when the server shuts down.
                if beat.is_err() {
                    break End::Shutdown;
                }
                if Instant::now() >= idle_deadline {
                    break End::Idle;
                }
                let ping = socket.send(Message::Ping(Default::default()));
                if let Some(end) = guarded(ping, &shutdown, outbox, idle_deadline).await {
                    break end;
                }
            }
        }
    };

    tracing::debug!(conn = peer.id(), ?end, "disconnecting");
    // Leave rooms first, so the others see `left` even while the close is being written.
    conn.leave_all();
    match end.close_frame() {
        Some(frame) => {
            let _ = timeout(
                settings.close_grace,
                socket.send(Message::Close(Some(frame))),
            )
            .await;
        }
        // Lets tungstenite write the reply to the client's close.
        None if end == End::ClientClosed => {
            let _ = timeout(settings.close_grace, socket.flush()).await;
        }
        None => {}
    }
}

/// Runs a write to the socket unless the server shuts down, the client is kicked, or the client
/// stays silent past its idle deadline first: a client that stops reading blocks a write, and
/// must not keep its connection (or its memory) alive by doing so. `None` means written.
async fn guarded(
    write: impl Future<Output = Result<(), axum::Error>>,
    shutdown: &CancellationToken,
    outbox: &Outbox,
    idle_deadline: Instant,
) -> Option<End> {
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => Some(End::Shutdown),
        _ = outbox.kicked() => Some(End::TooSlow),
        _ = sleep_until(idle_deadline) => Some(End::Idle),
        res = write => res.err().map(|_| End::Broken),
    }
}

fn is_too_big(e: axum::Error) -> bool {
    matches!(
        e.into_inner().downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// A connection's own state: who it is and where it is.
struct Conn {
    hub: Hub,
    peer: Peer,
    mode: Mode,
    /// Fixed by the first `join`: one connection is one user.
    name: Option<Arc<str>>,
    rooms: Vec<String>,
    limiter: Option<Box<DefaultDirectRateLimiter>>,
    settings: Arc<ConnSettings>,
}

impl Conn {
    fn error(&self, code: ErrorCode, message: impl Into<String>, client_id: Option<String>) {
        self.peer.deliver(Outbound::Frame(
            ServerMsg::error(code, message, client_id).to_json().into(),
        ));
    }

    fn rate_limited(&self) -> bool {
        self.limiter.as_ref().is_some_and(|l| l.check().is_err())
    }

    fn handle_text(&mut self, text: &str) {
        match self.mode {
            Mode::Typed => self.handle_typed(text),
            Mode::Classic => self.handle_classic(text),
        }
    }

    fn handle_typed(&mut self, text: &str) {
        let msg: ClientMsg = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(e) => return self.error(ErrorCode::BadRequest, bad_request(&e), None),
        };
        let client_id = match &msg {
            ClientMsg::Send { client_id, .. } | ClientMsg::Direct { client_id, .. } => {
                client_id.clone()
            }
            _ => None,
        };
        if self.rate_limited() {
            let rate = self.settings.rate.map_or(0, |q| q.burst_size().get());
            return self.error(
                ErrorCode::RateLimited,
                format!("slow down: the burst allows {rate} messages, then the sustained rate"),
                client_id,
            );
        }
        if let Err(e) = self.dispatch(msg) {
            self.error(e.code, e.message, client_id);
        }
    }

    fn dispatch(&mut self, msg: ClientMsg) -> Result<(), ValidationError> {
        let limits = self.hub.limits().clone();
        match msg {
            ClientMsg::Join {
                room,
                name,
                since,
                epoch,
            } => {
                let room = limits.room(&room)?;
                let name = limits.name(&name)?;
                if let Some(current) = &self.name
                    && &**current != name
                {
                    return Err(ValidationError {
                        code: ErrorCode::NameTaken,
                        message: format!("this connection already chats as `{current}`"),
                    });
                }
                let joined = self.rooms.iter().any(|r| r == room);
                if !joined && self.rooms.len() >= self.settings.max_rooms {
                    return Err(ValidationError {
                        code: ErrorCode::InvalidRoom,
                        message: format!(
                            "one connection may be in at most {} rooms",
                            self.settings.max_rooms
                        ),
                    });
                }
                let name: Arc<str> = self.name.clone().unwrap_or_else(|| name.into());
                self.hub
                    .join(&self.peer, room, &name, since, epoch.as_deref())?;
                if self.name.is_none() {
                    self.hub.register_user(&name, &self.peer);
                    self.name = Some(name);
                }
                if !joined {
                    self.rooms.push(room.to_owned());
                }
                Ok(())
            }
            ClientMsg::Leave { room } => {
                let at = self.joined(&limits, &room)?;
                self.rooms.swap_remove(at);
                self.hub.leave(self.peer.id(), &room);
                Ok(())
            }
            ClientMsg::Send {
                room,
                text,
                client_id,
            } => {
                self.joined(&limits, &room)?;
                let name = self.name.clone().unwrap_or_else(|| "".into());
                let peer = self.peer.clone();
                let (cid, to) = (client_id.clone(), room.clone());
                self.hub
                    .post(&room, &name, &text, client_id.as_deref(), move |result| {
                        answer_send(&peer, to, cid, result)
                    })
            }
            ClientMsg::Direct {
                to,
                text,
                client_id,
            } => {
                let Some(name) = &self.name else {
                    return Err(ValidationError {
                        code: ErrorCode::NotJoined,
                        message: "join a room first: that gives this connection its name".into(),
                    });
                };
                self.hub.direct(name, &to, &text, client_id.as_deref())
            }
            // Open mode has nothing to check: names are chosen freely.
            ClientMsg::Auth { .. } => Err(ValidationError {
                code: ErrorCode::BadRequest,
                message: "this server does not use tokens (welcome.auth is \"open\")".into(),
            }),
            ClientMsg::Typing { room } => {
                self.joined(&limits, &room)?;
                if let Some(name) = &self.name {
                    self.hub.typing(self.peer.id(), &room, name);
                }
                Ok(())
            }
        }
    }

    /// The index of `room` among this connection's rooms, or the error to answer.
    fn joined(
        &self,
        limits: &banter_protocol::Limits,
        room: &str,
    ) -> Result<usize, ValidationError> {
        limits.room(room)?;
        self.rooms
            .iter()
            .position(|r| r == room)
            .ok_or_else(|| ValidationError {
                code: ErrorCode::NotJoined,
                message: format!("join `{room}` first"),
            })
    }

    fn handle_classic(&mut self, text: &str) {
        let msg: ClassicMsg = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(e) => return self.error(ErrorCode::BadRequest, bad_request(&e), None),
        };
        if self.rate_limited() {
            return self.error(ErrorCode::RateLimited, "slow down", None);
        }
        let peer = self.peer.clone();
        let posted = self
            .hub
            .post(DEFAULT_ROOM, &msg.user, &msg.message, None, move |result| {
                if let Err(e) = result {
                    let e = refusal(&e);
                    peer.send(&ServerMsg::error(e.code, e.message, None));
                }
            });
        if let Err(e) = posted {
            self.error(e.code, e.message, None);
        }
    }

    fn leave_all(&mut self) {
        match self.mode {
            Mode::Typed => self.hub.disconnect(
                self.peer.id(),
                self.name.as_deref(),
                self.rooms.iter().map(String::as_str),
            ),
            Mode::Classic => {
                self.hub.leave(self.peer.id(), DEFAULT_ROOM);
            }
        }
        self.rooms.clear();
    }
}

/// Acks a stored `send` (when it carried a `client_id`), or says why it was not stored. Runs on
/// the store's thread, after the message was published: the sender sees its message, then the
/// ack.
fn answer_send(
    peer: &Peer,
    room: String,
    client_id: Option<String>,
    result: Result<Appended, StoreError>,
) {
    match result {
        Ok(a) => {
            if let Some(client_id) = client_id {
                peer.send(&ServerMsg::Ack {
                    client_id,
                    room,
                    seq: a.stored.msg.seq,
                });
            }
        }
        Err(e) => {
            let e = refusal(&e);
            peer.send(&ServerMsg::error(e.code, e.message, client_id));
        }
    }
}

fn bad_request(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        format!("not valid JSON: {e}")
    } else {
        format!("not a valid message: {e}")
    }
}

/// The rate quota for `per_sec` messages per second with `burst`, or `None` for unlimited.
pub fn quota(per_sec: u32, burst: u32) -> Option<Quota> {
    let per_sec = NonZeroU32::new(per_sec)?;
    let burst = NonZeroU32::new(burst).unwrap_or(per_sec);
    Some(Quota::per_second(per_sec).allow_burst(burst))
}
