//! One connection's task: the loop that reads the client's frames, writes what the hub queued
//! (a batch at a time), pings on the server-wide heartbeat, keeps the hello and token
//! deadlines, and closes with the right code.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message};
use banter_protocol::{AuthMode, DEFAULT_ROOM, ServerMsg};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use super::conn::{Conn, Outcome};
use super::end::End;
use super::end::{Deadline, overdue, passed};
use super::write::{self, guarded};
use super::{ConnSettings, Mode};
use crate::hub::{ConnectionGuard, Hub, Outbound, Peer};
use crate::metrics;

/// Batch buffers up to this many entries are freed after each write.
const SMALL_BATCH: usize = 8;

/// Runs one connection to its end. `socket` is any stream/sink of WebSocket messages.
///
/// Not an `async fn`: the future of one keeps its arguments and also the locals they are moved
/// into, so it held the socket and the rest twice (2,128 bytes per connection). This block
/// keeps what it captured in place and lends it to [`run`] (1,688 bytes).
// Each argument is a distinct input of one connection; a struct would only rename them. Not an
// `async fn` on purpose (see above).
#[allow(clippy::too_many_arguments, clippy::manual_async_fn)]
pub fn serve_socket<S>(
    mut socket: S,
    remote: (String, Option<IpAddr>),
    hub: Hub,
    settings: Arc<ConnSettings>,
    mode: Mode,
    shutdown: CancellationToken,
    mut heartbeat: watch::Receiver<()>,
    guard: ConnectionGuard,
) -> impl Future<Output = ()>
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    async move {
        // Held to the end: the connection counts as open until its task ends.
        let _guard = guard;
        run(
            &mut socket,
            &remote,
            &hub,
            &settings,
            mode,
            &shutdown,
            &mut heartbeat,
        )
        .await;
    }
}

/// The connection, greeted, served to its end, closed (see [`serve_socket`]).
async fn run<S>(
    socket: &mut S,
    (remote, ip): &(String, Option<IpAddr>),
    hub: &Hub,
    settings: &Arc<ConnSettings>,
    mode: Mode,
    shutdown: &CancellationToken,
    heartbeat: &mut watch::Receiver<()>,
) where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    let conn = Conn::new(hub, settings, mode, *ip);
    let mut session = Session {
        peer: conn.peer.clone(),
        conn,
        socket,
        settings,
        shutdown,
        heartbeat,
        deadline: None,
        last_seen: Instant::now(),
        batch: VecDeque::new(),
        client_close: None,
    };
    let opened = Instant::now();
    let end = match session.greet(remote).await {
        Some(refused) => refused,
        None => session.serve().await,
    };
    session.close(end, opened).await;
}

/// A connection while it runs: its socket, its state ([`Conn`]), its deadline, and the batch its
/// writer holds.
struct Session<'a, S> {
    socket: &'a mut S,
    conn: Conn,
    /// The connection's side of the hub (its outbox); the same as `conn.peer`.
    peer: Peer,
    settings: &'a ConnSettings,
    shutdown: &'a CancellationToken,
    heartbeat: &'a mut watch::Receiver<()>,
    deadline: Option<Deadline>,
    last_seen: Instant,
    /// Swapped with the outbox's queue; see [`Session::on_outbox`] for how it stays small.
    batch: VecDeque<Outbound>,
    /// The client's close frame, if it sent one: its code goes in the log line.
    client_close: Option<CloseFrame>,
}

/// What woke a connection's task.
enum Event {
    End(End),
    Frame(Option<Result<Message, axum::Error>>),
    Deadline(End),
    Outbox,
    /// The heartbeat ticked (`false`: it ended, the server shuts down).
    Beat(bool),
}

impl<S> Session<'_, S>
where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin,
{
    /// Arms the hello deadline and queues `welcome` (typed) or joins the lobby (classic, off
    /// the runtime: loading the room may read the store). `Some` when the connection is refused
    /// at once.
    async fn greet(&mut self, remote: &str) -> Option<End> {
        let (settings, hub) = (self.settings, &self.conn.hub);
        let auth = settings.identity.mode();
        let mode = self.conn.mode;
        if !settings.auth_timeout.is_zero() && mode == Mode::Typed {
            let hello_end = match auth {
                AuthMode::Token => End::Unauthorized,
                AuthMode::Open => End::NoHello,
            };
            self.deadline = Deadline::after(settings.auth_timeout, hello_end);
        }
        metrics::connection_opened();
        tracing::info!(conn = self.peer.id(), ?mode, remote, "connection opened");
        match mode {
            Mode::Typed => {
                let session = uuid::Uuid::now_v7().to_string();
                let welcome =
                    ServerMsg::welcome(session, settings.version, hub.limits().clone(), auth);
                self.peer.deliver(Outbound::Frame(welcome.to_json().into()));
            }
            Mode::Classic if auth == AuthMode::Token => return Some(End::ClassicRefused),
            Mode::Classic => {
                // Its store reads run off the runtime (see `store::Store`).
                if let Err(e) = hub.join_classic(&self.peer, DEFAULT_ROOM).await {
                    self.conn.error(e.code, e.message, None);
                }
            }
        }
        None
    }

    /// Runs the connection until it ends.
    ///
    /// Order matters: shutdown and kicks first; then the client's frames before the
    /// hello/expiry deadline and our writes, so heavy fan-out never starves reading (a flooding
    /// client starves only its own writes, and is then kicked); pings last. Pings follow one
    /// server-wide heartbeat rather than a timer per connection: idle connections then cost no
    /// timer at all.
    async fn serve(&mut self) -> End {
        loop {
            let idle_deadline = self.last_seen + self.settings.idle_timeout;
            let outbox = self.peer.outbox();
            let event = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => Event::End(End::Shutdown),
                _ = outbox.kicked() => Event::End(if outbox.is_revoked() {
                    End::Revoked
                } else {
                    End::TooSlow
                }),
                incoming = self.socket.next() => Event::Frame(incoming),
                // After the client's frames: a frame that arrived in time counts even when the
                // server is slow to read it.
                end = passed(&mut self.deadline) => Event::Deadline(end),
                _ = outbox.ready() => Event::Outbox,
                beat = self.heartbeat.changed() => Event::Beat(beat.is_ok()),
            };
            let end = match event {
                Event::End(end) => Some(end),
                Event::Frame(incoming) => self.on_frame(incoming).await,
                Event::Deadline(end) => Some(self.conn.deadline_passed(end)),
                Event::Outbox => self.on_outbox(idle_deadline).await,
                Event::Beat(beating) => self.on_beat(beating, idle_deadline).await,
            };
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// A frame from the client (or its end): rate-limited, decoded and carried out.
    async fn on_frame(&mut self, incoming: Option<Result<Message, axum::Error>>) -> Option<End> {
        self.last_seen = Instant::now();
        let msg = match incoming {
            None => return Some(End::ClientClosed),
            Some(Err(e)) => {
                return Some(if is_too_big(e) {
                    End::TooBig
                } else {
                    End::Broken
                });
            }
            Some(Ok(Message::Close(frame))) => {
                self.client_close = frame;
                return Some(End::ClientClosed);
            }
            Some(Ok(msg)) => msg,
        };
        // A client that never pauses must not outlive its token...
        if self.conn.claims.is_some()
            && let Some(end) = overdue(&self.deadline)
        {
            return Some(self.conn.deadline_passed(end));
        }
        let mut outcome = self.conn.handle_frame(msg);
        if let Outcome::Join(req) = outcome {
            // Boxed: the join's future is held only while one is under way.
            outcome = match Box::pin(self.conn.join(req, self.shutdown)).await {
                Ok(outcome) => outcome,
                Err(end) => return Some(end),
            };
        }
        match outcome {
            Outcome::Quiet | Outcome::Join(_) => {}
            Outcome::Hello => self.deadline = None,
            Outcome::Authenticated { left, first } => {
                if first {
                    self.conn.register().await;
                    // Revoked while it registered: the revocation did not see it.
                    if self.conn.revoked() {
                        return Some(End::Revoked);
                    }
                }
                self.deadline = Deadline::after(left, End::Unauthorized);
            }
            Outcome::Refuse => return Some(End::Unauthorized),
        }
        // ...nor keep a socket open with frames that are never valid.
        overdue(&self.deadline).map(|end| self.conn.deadline_passed(end))
    }

    /// Writes everything queued as one batch (feed every frame, flush once).
    async fn on_outbox(&mut self, idle_deadline: Instant) -> Option<End> {
        let outbox = self.peer.outbox();
        if !outbox.take(&mut self.batch) {
            return None;
        }
        let write = write::batch(
            &mut *self.socket,
            &self.conn.hub,
            self.peer.id(),
            &mut self.batch,
        );
        if let Some(end) = guarded(write, self.shutdown, outbox, idle_deadline).await {
            return Some(end);
        }
        // A connection that writes a little now and then (most of them) holds no batch buffer
        // between writes; a busy one keeps its buffer.
        if self.batch.capacity() <= SMALL_BATCH {
            self.batch = VecDeque::new();
        }
        None
    }

    /// The server-wide heartbeat: a ping, unless the client has been silent too long.
    async fn on_beat(&mut self, beating: bool, idle_deadline: Instant) -> Option<End> {
        // The heartbeat ends only when the server shuts down.
        if !beating {
            return Some(End::Shutdown);
        }
        if Instant::now() >= idle_deadline {
            return Some(End::Idle);
        }
        let socket = &mut *self.socket;
        let ping = async {
            socket
                .send(Message::Ping(Default::default()))
                .await
                .map_err(|_| End::Broken)
        };
        guarded(ping, self.shutdown, self.peer.outbox(), idle_deadline).await
    }

    /// Logs the end, leaves the rooms, and sends the close frame (with what must go before it).
    async fn close(&mut self, end: End, opened: Instant) {
        if let Some(kick) = end.kick() {
            metrics::kicked(kick);
        }
        let (code, reason) = end.describe(self.client_close.as_ref());
        tracing::info!(
            conn = self.peer.id(),
            user = self.conn.name.as_deref().unwrap_or(""),
            code,
            reason,
            secs = opened.elapsed().as_secs(),
            "connection closed"
        );
        // Leave rooms first, so the others see `left` even while the close is being written.
        self.conn.leave_all();
        let grace = self.settings.close_grace;
        if end == End::Revoked {
            let error = ServerMsg::error(
                banter_protocol::ErrorCode::Unauthorized,
                crate::auth::AuthError::Revoked.to_string(),
                None,
            );
            let _ = timeout(
                grace,
                self.socket.send(Message::Text(error.to_json().into())),
            )
            .await;
        }
        if matches!(end, End::Unauthorized | End::ClassicRefused) {
            // Whatever is queued (the `unauthorized` error) goes out before the close.
            write::flush_outbox(&mut *self.socket, self.peer.outbox(), grace).await;
        }
        match end.close_frame() {
            Some(frame) => {
                let close = self.socket.send(Message::Close(Some(frame)));
                let _ = timeout(grace, close).await;
            }
            // Lets tungstenite write the reply to the client's close.
            None if end == End::ClientClosed => {
                let _ = timeout(grace, self.socket.flush()).await;
            }
            None => {}
        }
    }
}

fn is_too_big(e: axum::Error) -> bool {
    matches!(
        e.into_inner().downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}
