//! One connection's task: the loop that reads the client's frames, writes what the hub queued
//! (a batch at a time), pings on the server-wide heartbeat, keeps the hello and token
//! deadlines, and closes with the right code.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message};
use banter_protocol::{AuthMode, DEFAULT_ROOM, ServerMsg};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use governor::RateLimiter;
use tokio::sync::watch;
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use super::conn::{Conn, Outcome};
use super::end::End;
use super::end::{Deadline, overdue, passed};
use super::write::{self, guarded};
use super::{ConnSettings, Mode};
use crate::hub::{ConnectionGuard, Hub, Outbound};
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

/// The connection's loop and close (see [`serve_socket`]).
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
        ip: *ip,
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
                let mut outcome = conn.handle_frame(msg);
                if let Outcome::Join(req) = outcome {
                    // Boxed: the join's future is held only while one is under way.
                    outcome = match Box::pin(conn.join(req, shutdown)).await {
                        Ok(outcome) => outcome,
                        Err(end) => break end,
                    };
                }
                match outcome {
                    Outcome::Quiet => {}
                    Outcome::Hello => deadline = None,
                    Outcome::Authenticated(left) => {
                        deadline = Deadline::after(left, End::Unauthorized);
                    }
                    Outcome::Refuse => break End::Unauthorized,
                    Outcome::Join(_) => {}
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
                let write = write::batch(socket, hub, peer.id(), &mut batch);
                if let Some(end) = guarded(write, shutdown, outbox, idle_deadline).await {
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
                let ping = async {
                    socket.send(Message::Ping(Default::default())).await.map_err(|_| End::Broken)
                };
                if let Some(end) = guarded(ping, shutdown, outbox, idle_deadline).await {
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
        write::flush_outbox(socket, outbox, settings.close_grace).await;
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

fn is_too_big(e: axum::Error) -> bool {
    matches!(
        e.into_inner().downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}
