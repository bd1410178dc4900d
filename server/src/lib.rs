//! Banter's server as a library: [`run`] serves a [`Config`] on a listener until a shutdown
//! future completes. The `banter` binary is a thin wrapper around it, and tests call it on port 0.
//!
//! Modules, one concern each: [`config`] (flags), [`store`] (sequencing and keeping messages:
//! SQLite or memory), [`hub`] (rooms, members, hot windows, fan-out),
//! [`ws`] (WebSocket connections), [`http`] (the HTTP API), [`assets`] (the web app),
//! [`error`] (HTTP errors).

pub mod assets;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod outbox;
pub mod store;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
use error::ApiError;
use hub::Hub;
use ws::ConnSettings;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub hub: Hub,
    pub config: Arc<Config>,
    pub conn: Arc<ConnSettings>,
    /// Cancelled when the server starts shutting down.
    pub shutdown: CancellationToken,
    /// Tracks WebSocket tasks, so shutdown can wait for them to close.
    pub tracker: TaskTracker,
    /// Ticks every `--ping-interval`: each connection pings and checks its idle time on a tick.
    pub heartbeat: watch::Receiver<()>,
}

impl AppState {
    /// Opens the store, builds the state and starts the heartbeat task. Call within a tokio
    /// runtime. Fails when the store cannot be opened (the error says what to do).
    pub fn new(config: Config) -> Result<Self, store::StoreError> {
        let store = config.open_store()?;
        let conn = ConnSettings {
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            max_rooms: config.max_rooms_per_connection,
            rate: ws::quota(config.rate_per_sec, config.rate_burst),
            close_grace: config.shutdown_grace,
            version: env!("CARGO_PKG_VERSION"),
        };
        let shutdown = CancellationToken::new();
        Ok(AppState {
            hub: Hub::new(config.hub(), store),
            heartbeat: heartbeat(config.ping_interval, shutdown.clone()),
            config: Arc::new(config),
            conn: Arc::new(conn),
            shutdown,
            tracker: TaskTracker::new(),
        })
    }
}

/// One server-wide tick every `period`, until `stop` is cancelled.
fn heartbeat(period: std::time::Duration, stop: CancellationToken) -> watch::Receiver<()> {
    let (tx, rx) = watch::channel(());
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => tx.send_replace(()),
            }
        }
    });
    rx
}

/// The whole application: `/ws`, classic `/`, `/api`, `/healthz`, and the web app.
pub fn router(state: AppState) -> Router {
    let body_limit = axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes);
    Router::new()
        .merge(http::router())
        .fallback(fallback)
        .layer(CompressionLayer::new())
        .layer(body_limit)
        // WebSocket upgrades stay outside the compression layer.
        .route("/ws", get(ws::ws_handler))
        .route("/", get(ws::root_handler))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A `GET` for anything else is the web app's business (its files, or its client-side routes);
/// other methods, and unknown `/api/` paths, get a JSON 404.
async fn fallback(method: Method, uri: axum::http::Uri) -> Response {
    let api = uri.path().starts_with("/api/") || uri.path() == "/api";
    if !api && (method == Method::GET || method == Method::HEAD) {
        assets::serve(uri).await
    } else {
        ApiError::NotFound.into_response()
    }
}

/// Serves Banter on `listener` until `shutdown` completes, then closes every WebSocket with
/// 1001 and returns once they are closed or `shutdown_grace` has passed.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(config).map_err(std::io::Error::other)?;
    let grace = state.config.shutdown_grace;
    let token = state.shutdown.clone();
    let tracker = state.tracker.clone();
    let app = router(state);

    let listener = listener.tap_io(|tcp| {
        // Chat frames are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
    });
    let stop = token.clone();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .into_future(),
    );
    tokio::pin!(shutdown);
    let mut server = server;
    tokio::select! {
        _ = &mut shutdown => {}
        res = &mut server => {
            // The server stopped by itself: an accept error.
            token.cancel();
            return res.map_err(std::io::Error::other)?;
        }
    }
    tracing::info!(
        connections = tracker.len(),
        "shutting down: closing every WebSocket with 1001"
    );
    token.cancel();
    tracker.close();
    let drained = tokio::time::timeout(grace + std::time::Duration::from_millis(500), async {
        tracker.wait().await;
        let _ = (&mut server).await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!("shutdown grace elapsed with connections still open; exiting anyway");
        server.abort();
    }
    Ok(())
}
