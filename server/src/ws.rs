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
//! `max_frame_bytes` → 1009; the client closed → its own code echoed. Identity (v1.1): in token
//! mode a first frame that is not a valid `auth`, no `auth` within `--auth-timeout`, or a token
//! that expires while connected → `unauthorized` then 4001; a classic client → 4001. In open
//! mode, no accepted `join` within `--auth-timeout` → 1008.
//!
//! Every frame the client sends (text, binary, ping) counts against its rate limit, and error
//! frames echo at most a short prefix of what the client sent ([`crate::limit::echo`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use banter_protocol::{
    AuthMode, ClassicMsg, ClientMsg, DEFAULT_ROOM, ErrorCode, ServerMsg, ValidationError, close,
};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::auth::{AuthError, Claims, SharedIdentity};
use crate::error::ApiError;
use crate::hub::{Appended, ConnectionGuard, Hub, Outbound, Peer, refusal};
use crate::limit::echo;
use crate::limit::per_ip::IpGuard;
use crate::metrics::{self, Kick};
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
    /// Who clients are: open names or signed tokens (`--auth`).
    pub identity: SharedIdentity,
    /// A socket with no valid frame this long after the upgrade is closed (zero: never).
    pub auth_timeout: Duration,
}

/// `GET /ws`: the typed protocol.
pub async fn ws_handler(
    State(app): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    extensions: Extensions,
    ws: WebSocketUpgrade,
) -> Response {
    let remote = remote(&headers, &extensions);
    match app.per_ip.try_open(peer.map(|p| p.0.0.ip())) {
        Some(ip) => upgrade(app, &headers, remote, ws, Mode::Typed, ip),
        None => ApiError::TooManyConnections.into_response(),
    }
}

/// `GET /`: a classic client's upgrade, or else the web app.
pub async fn root_handler(
    State(app): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => {
            let remote = remote(&headers, &extensions);
            match app.per_ip.try_open(peer.map(|p| p.0.0.ip())) {
                Some(ip) => upgrade(app, &headers, remote, ws, Mode::Classic, ip),
                None => ApiError::TooManyConnections.into_response(),
            }
        }
        Err(_) => crate::assets::serve(uri).await,
    }
}

/// Who is connecting, for the log: the peer address, and the client a proxy names in
/// `X-Forwarded-For` (first entry) when there is one.
fn remote(headers: &HeaderMap, extensions: &Extensions) -> String {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "?".to_owned(), |c| c.0.to_string());
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    match forwarded {
        Some(client) if !client.is_empty() => format!("{client} via {peer}"),
        _ => peer,
    }
}

fn upgrade(
    app: AppState,
    headers: &HeaderMap,
    remote: String,
    ws: WebSocketUpgrade,
    mode: Mode,
    ip: IpGuard,
) -> Response {
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
                remote,
                app.hub.clone(),
                app.conn.clone(),
                mode,
                app.shutdown.clone(),
                app.heartbeat.clone(),
                guard,
            );
            app.tracker.track_future(async move {
                // The address keeps this connection counted until the task ends.
                let _ip = ip;
                task.await
            })
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
    /// Token mode: no valid `auth` first, or the token expired (the message was sent before).
    Unauthorized,
    /// Token mode: the classic `/` dialect has no way to present a token.
    ClassicRefused,
    /// Open mode: no accepted `join` within `--auth-timeout`.
    NoHello,
}

impl End {
    /// The close code and reason the client sees (for the log: the client's own code when it
    /// closed, none when the connection broke).
    fn describe(self, client: Option<&CloseFrame>) -> (Option<u16>, String) {
        match (self.close_frame(), client) {
            (Some(f), _) => (Some(f.code), f.reason.to_string()),
            (None, Some(f)) => (Some(f.code), format!("client: {}", f.reason.as_str())),
            (None, None) if self == End::ClientClosed => (None, "client closed".into()),
            (None, None) => (None, "connection broken".into()),
        }
    }

    fn kick(self) -> Option<Kick> {
        match self {
            End::TooSlow => Some(Kick::TooSlow),
            End::Idle => Some(Kick::Idle),
            End::TooBig => Some(Kick::TooBig),
            _ => None,
        }
    }

    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Shutdown => (close::GOING_AWAY, "server shutting down"),
            End::TooSlow => (close::TOO_SLOW, "too slow: reconnect and resume with since"),
            End::Idle => (
                close::TOO_SLOW,
                "idle timeout: reconnect and resume with since",
            ),
            End::TooBig => (close::TOO_BIG, "message too big"),
            End::Unauthorized => (close::UNAUTHORIZED, "unauthorized: get a new token"),
            End::ClassicRefused => (
                close::UNAUTHORIZED,
                "this server needs tokens: use /ws and send auth first",
            ),
            End::NoHello => (close::POLICY, "no valid frame within the auth timeout"),
            End::ClientClosed | End::Broken => return None,
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

/// A per-connection timer, armed only while it matters: before the first valid frame (the
/// hello deadline) and, in token mode, until the token expires. Established open-mode
/// connections own no timer at all (pings follow the server-wide heartbeat).
struct Deadline {
    sleep: std::pin::Pin<Box<Sleep>>,
    /// What passing it means.
    end: End,
}

impl Deadline {
    fn after(d: Duration, end: End) -> Option<Deadline> {
        Some(Deadline {
            sleep: Box::pin(sleep(d)),
            end,
        })
    }
}

/// Waits for the deadline, or forever when there is none.
async fn passed(deadline: &mut Option<Deadline>) -> End {
    match deadline {
        Some(d) => {
            d.sleep.as_mut().await;
            d.end
        }
        None => std::future::pending().await,
    }
}

/// The deadline's meaning if it has passed (checked between frames, for clients that keep the
/// read branch busy).
fn overdue(deadline: &Option<Deadline>) -> Option<End> {
    deadline
        .as_ref()
        .filter(|d| Instant::now() >= d.sleep.deadline())
        .map(|d| d.end)
}

/// Runs one connection to its end. `socket` is any stream/sink of WebSocket messages.
// Each argument is a distinct input of one connection; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub async fn serve_socket<S>(
    mut socket: S,
    remote: String,
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
    let auth = settings.identity.mode();
    let mut conn = Conn {
        limiter: settings.rate.map(RateLimiter::direct).map(Box::new),
        hub: hub.clone(),
        peer: peer.clone(),
        mode,
        name: None,
        claims: None,
        rooms: Vec::new(),
        settings: settings.clone(),
    };
    let hello_end = match auth {
        AuthMode::Token => End::Unauthorized,
        AuthMode::Open => End::NoHello,
    };
    let mut deadline = if settings.auth_timeout.is_zero() || mode == Mode::Classic {
        None
    } else {
        Deadline::after(settings.auth_timeout, hello_end)
    };
    let mut refused = None;
    match mode {
        Mode::Typed => {
            let session = uuid::Uuid::now_v7().to_string();
            peer.deliver(Outbound::Frame(
                ServerMsg::welcome(session, settings.version, hub.limits().clone(), auth)
                    .to_json()
                    .into(),
            ));
        }
        Mode::Classic if auth == AuthMode::Token => refused = Some(End::ClassicRefused),
        Mode::Classic => {
            if let Err(e) = hub.join_classic(&peer, DEFAULT_ROOM) {
                conn.error(e.code, e.message, None);
            }
        }
    }
    metrics::connection_opened();
    tracing::info!(conn = peer.id(), ?mode, remote, "connection opened");
    let opened = Instant::now();
    // The client's close frame, if it sent one: its code goes in the log line.
    let mut client_close: Option<CloseFrame> = None;

    let mut last_seen = Instant::now();
    // Swapped with the outbox's queue; see the end of a write for how it stays small when idle.
    let mut batch = VecDeque::new();

    // Order matters: shutdown and kicks first; then the client's frames before the hello/expiry
    // deadline and our writes, so
    // heavy fan-out never starves reading (a flooding client starves only its own writes, and
    // is then kicked); pings last. Pings follow one server-wide heartbeat rather than a timer
    // per connection: idle connections then cost no timer at all.
    let end = loop {
        if let Some(end) = refused.take() {
            break end;
        }
        let idle_deadline = last_seen + settings.idle_timeout;
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break End::Shutdown,
            _ = outbox.kicked() => break End::TooSlow,
            incoming = socket.next() => {
                last_seen = Instant::now();
                let msg = match incoming {
                    None => break End::ClientClosed,
                    Some(Err(e)) => break if is_too_big(e) { End::TooBig } else { End::Broken },
                    Some(Ok(Message::Close(frame))) => {
                        client_close = frame;
                        break End::ClientClosed;
                    }
                    Some(Ok(msg)) => msg,
                };
                // A client that never pauses must not outlive its token...
                if conn.claims.is_some() && let Some(end) = overdue(&deadline) {
                    break conn.deadline_passed(end);
                }
                let outcome = conn.handle_frame(msg);
                match outcome {
                    Outcome::Quiet => {}
                    Outcome::Hello => deadline = None,
                    Outcome::Authenticated(left) => {
                        deadline = Deadline::after(left, End::Unauthorized);
                    }
                    Outcome::Refuse => break End::Unauthorized,
                }
                // ...nor keep a socket open with frames that are never valid.
                if let Some(end) = overdue(&deadline) {
                    break conn.deadline_passed(end);
                }
            }
            // After the client's frames: a frame that arrived in time counts even when the
            // server is slow to read it.
            end = passed(&mut deadline) => break conn.deadline_passed(end),
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

    if let Some(kick) = end.kick() {
        metrics::kicked(kick);
    }
    let (code, reason) = end.describe(client_close.as_ref());
    tracing::info!(
        conn = peer.id(),
        user = conn.name.as_deref().unwrap_or(""),
        code,
        reason,
        secs = opened.elapsed().as_secs(),
        "connection closed"
    );
    // Leave rooms first, so the others see `left` even while the close is being written.
    conn.leave_all();
    if matches!(end, End::Unauthorized | End::ClassicRefused) {
        // Whatever is queued (the `unauthorized` error) goes out before the close.
        flush_outbox(&mut socket, outbox, settings.close_grace).await;
    }
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

/// Writes what is queued for the client, bounded by `grace`.
async fn flush_outbox<S>(socket: &mut S, outbox: &Outbox, grace: Duration)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    let mut batch = VecDeque::new();
    outbox.take(&mut batch);
    let write = async {
        for out in batch {
            let frames = match out {
                Outbound::Frame(f) => vec![f],
                Outbound::Batch(fs) => fs,
            };
            for f in frames {
                socket.feed(Message::Text(f)).await?;
            }
        }
        socket.flush().await
    };
    let _ = timeout(grace, write).await;
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
    /// Fixed by the first `join` (open mode) or by the token (token mode): one connection is
    /// one user.
    name: Option<Arc<str>>,
    /// Token mode: the verified token, once `auth` was accepted.
    claims: Option<Claims>,
    rooms: Vec<String>,
    limiter: Option<Box<DefaultDirectRateLimiter>>,
    settings: Arc<ConnSettings>,
}

/// What a client frame did to the connection's standing.
enum Outcome {
    /// Nothing that changes the connection's deadlines.
    Quiet,
    /// Open mode: the first accepted `join` (the hello deadline no longer applies).
    Hello,
    /// Token mode: a token was accepted; it expires in this long.
    Authenticated(Duration),
    /// Token mode: no valid token; `unauthorized` is queued, close with 4001.
    Refuse,
}

impl Conn {
    /// Queues an `error` frame. The message is capped, and `client_id` is echoed only when it is
    /// valid, so an error never carries more than a short prefix of the client's input.
    fn error(&self, code: ErrorCode, message: impl Into<String>, client_id: Option<String>) {
        let client_id = client_id.filter(|c| self.hub.limits().client_id(c).is_ok());
        let message = echo::cap(message.into());
        self.peer.deliver(Outbound::Frame(
            ServerMsg::error(code, message, client_id).to_json().into(),
        ));
    }

    fn rate_limited(&self) -> bool {
        let limited = self.limiter.as_ref().is_some_and(|l| l.check().is_err());
        if limited {
            metrics::rate_limited();
        }
        limited
    }

    fn rate_error(&self, client_id: Option<String>) {
        let limits = self.hub.limits();
        self.error(
            ErrorCode::RateLimited,
            format!(
                "slow down: at most {} messages per second, in bursts of up to {}; this one was not carried out",
                limits.rate_per_sec, limits.rate_burst
            ),
            client_id,
        );
    }

    /// Every frame counts against the rate limit, before any parsing: a flood of bad JSON,
    /// binary frames or pings is throttled like a flood of messages.
    fn handle_frame(&mut self, msg: Message) -> Outcome {
        let limited = self.rate_limited();
        match msg {
            Message::Text(text) if limited => {
                self.rate_error(echo::client_id_of(&text));
                Outcome::Quiet
            }
            Message::Text(text) => match self.mode {
                Mode::Typed => self.handle_typed(&text),
                Mode::Classic => {
                    self.handle_classic(&text);
                    Outcome::Quiet
                }
            },
            Message::Binary(_) if limited => {
                self.rate_error(None);
                Outcome::Quiet
            }
            Message::Binary(_) => {
                if self.settings.identity.mode() == AuthMode::Token && self.claims.is_none() {
                    return self.refuse(AuthError::Missing);
                }
                self.error(
                    ErrorCode::BadRequest,
                    "binary frames are not supported: send JSON text frames",
                    None,
                );
                Outcome::Quiet
            }
            // Pings and pongs only spend the budget (tungstenite answers pings itself).
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Outcome::Quiet,
        }
    }

    /// The hello or token deadline passed: in token mode `unauthorized` is queued (no token, or
    /// it expired). Returns how the connection ends.
    fn deadline_passed(&self, end: End) -> End {
        if end == End::Unauthorized {
            let why = if self.claims.is_some() {
                AuthError::Expired
            } else {
                AuthError::Missing
            };
            self.error(ErrorCode::Unauthorized, why.to_string(), None);
        }
        end
    }

    /// Queues `unauthorized` for a connection that is about to be closed with 4001.
    fn refuse(&self, why: AuthError) -> Outcome {
        self.error(ErrorCode::Unauthorized, why.to_string(), None);
        Outcome::Refuse
    }

    fn handle_typed(&mut self, text: &str) -> Outcome {
        let token_mode = self.settings.identity.mode() == AuthMode::Token;
        let msg: ClientMsg = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(_) if token_mode && self.claims.is_none() => {
                return self.refuse(AuthError::Missing);
            }
            Err(e) => {
                self.error(ErrorCode::BadRequest, bad_request(&e), None);
                return Outcome::Quiet;
            }
        };
        if let ClientMsg::Auth { token } = &msg
            && token_mode
        {
            return self.authenticate(token);
        }
        if token_mode && self.claims.is_none() {
            return self.refuse(AuthError::Missing);
        }
        let client_id = match &msg {
            ClientMsg::Send { client_id, .. } | ClientMsg::Direct { client_id, .. } => {
                client_id.clone()
            }
            _ => None,
        };
        let was_named = self.name.is_some();
        match self.dispatch(msg) {
            Ok(()) if !was_named && self.name.is_some() && !token_mode => Outcome::Hello,
            Ok(()) => Outcome::Quiet,
            Err(e) => {
                self.error(e.code, e.message, client_id);
                Outcome::Quiet
            }
        }
    }

    /// Token mode: checks an `auth` frame. The first fixes the connection's user; a later one
    /// (a refreshed token for the same user) extends it.
    fn authenticate(&mut self, token: &str) -> Outcome {
        let claims = match self.settings.identity.verify(token) {
            Ok(c) => c,
            Err(e) => return self.refuse(e),
        };
        if let Some(current) = &self.name
            && *current != claims.user
        {
            self.error(
                ErrorCode::NameTaken,
                format!("this connection already chats as `{current}`"),
                None,
            );
            return Outcome::Quiet;
        }
        if self.name.is_none() {
            self.hub.register_user(&claims.user, &self.peer);
            self.name = Some(claims.user.clone());
        }
        self.peer.deliver(Outbound::Frame(
            ServerMsg::Authenticated {
                user: claims.user.to_string(),
                exp: claims.exp,
            }
            .to_json()
            .into(),
        ));
        let left = claims.remaining();
        self.claims = Some(claims);
        Outcome::Authenticated(left)
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
                self.allowed(room)?;
                // With a token, the name is the token's user: `name` may be left out.
                let name = match (&self.claims, name.trim()) {
                    (Some(c), "") => &*c.user,
                    _ => limits.name(&name)?,
                };
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
            // Open mode has nothing to check: names are chosen freely. (Token mode answers
            // `auth` before dispatch.)
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

    /// Token mode: whether the token's `rooms` claim allows `room` (absent: every room).
    fn allowed(&self, room: &str) -> Result<(), ValidationError> {
        match &self.claims {
            Some(c) if !c.allows_room(room) => Err(ValidationError {
                code: ErrorCode::Forbidden,
                message: format!("your token does not allow the room `{room}`"),
            }),
            _ => Ok(()),
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
        let peer = self.peer.clone();
        let posted =
            self.hub.post(
                DEFAULT_ROOM,
                &msg.user,
                &msg.message,
                None,
                move |result| match result {
                    Ok(a) if !a.duplicate => metrics::message_stored(metrics::Path::Classic),
                    Ok(_) => {}
                    Err(e) => {
                        let e = refusal(&e);
                        peer.send(&ServerMsg::error(e.code, e.message, None));
                    }
                },
            );
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
            if !a.duplicate {
                metrics::message_stored(metrics::Path::Ws);
            }
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
