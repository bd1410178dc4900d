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
//!
//! Files: this one is the door; [`socket`] runs a connection (greet, its loop, close); [`end`]
//! how a connection ends (close codes) and its deadlines; [`write`] writes what the hub queued
//! (batches, and replays a chunk at a time); [`conn`] is a connection's state and the
//! dispatcher of its frames; [`join`] its joins and leaves.

mod conn;
mod end;
mod files;
mod join;
mod lifecycle;
mod read;
mod socket;
mod write;

pub use socket::serve_socket;

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::{Extensions, HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use governor::Quota;

use crate::AppState;
use crate::auth::SharedIdentity;
use crate::error::ApiError;
use crate::limit::per_ip::IpGuard;
use crate::limit::proxy;
use crate::limit::rooms_per_ip::RoomsPerIp;

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
    /// Rooms the connections of one address may be in (`--max-rooms-per-ip`).
    pub rooms_per_ip: RoomsPerIp,
}

/// `GET /ws`: the typed protocol.
pub async fn ws_handler(
    State(app): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    ws: WebSocketUpgrade,
) -> Response {
    let remote = proxy::describe(&extensions);
    let addr = proxy::client_ip(&extensions);
    match app.per_ip.try_open(addr) {
        Some(ip) => upgrade(app, &headers, (remote, addr), ws, Mode::Typed, ip),
        None => ApiError::TooManyConnections.into_response(),
    }
}

/// `GET /`: a classic client's upgrade, or else the web app.
pub async fn root_handler(
    State(app): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => {
            let remote = proxy::describe(&extensions);
            let addr = proxy::client_ip(&extensions);
            match app.per_ip.try_open(addr) {
                Some(ip) => upgrade(app, &headers, (remote, addr), ws, Mode::Classic, ip),
                None => ApiError::TooManyConnections.into_response(),
            }
        }
        Err(_) => crate::assets::serve(uri).await,
    }
}

fn upgrade(
    app: AppState,
    headers: &HeaderMap,
    (remote, addr): (String, Option<std::net::IpAddr>),
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
                (remote, addr),
                app.hub.clone(),
                app.conn.clone(),
                mode,
                app.shutdown.clone(),
                app.heartbeat.clone(),
                guard,
            );
            // The address keeps this connection counted until the task ends. `map` keeps the
            // task's future in place; an `async` block awaiting it would hold it twice (the
            // captured future and the awaited one): 2.2 KB more per connection.
            app.tracker.track_future(task.map(move |()| drop(ip)))
        })
}

/// The rate quota for `per_sec` messages per second with `burst`, or `None` for unlimited.
pub fn quota(per_sec: u32, burst: u32) -> Option<Quota> {
    let per_sec = NonZeroU32::new(per_sec)?;
    let burst = NonZeroU32::new(burst).unwrap_or(per_sec);
    Some(Quota::per_second(per_sec).allow_burst(burst))
}
