//! Banter's server as a library: [`run`] serves a [`Config`] on a listener until a shutdown
//! future completes. The `banter` binary is a thin wrapper around it, and tests call it on port 0.
//!
//! Modules, one concern each: [`config`] (flags), [`config_file`] (`--config banter.toml`),
//! [`store`] (sequencing and keeping messages: SQLite, memory, or Redis shared by several
//! nodes), [`frame`] (an encoded frame, shared by every connection it goes to), [`hub`] (rooms, members, hot windows, fan-out), [`ws`] (WebSocket connections),
//! [`http`] (the HTTP API), [`assets`] (the web app), [`error`] (HTTP errors), [`auth`] (open
//! names or signed tokens), [`http_guard`] (the API's rate limit and bearer check), [`limit`]
//! (per-address and echo limits), [`serve`] (the accept loop: HTTP timeouts, TLS), [`metrics`]
//! (Prometheus), [`ready`] (readiness checks), [`tls`] (certificates and their reload).

pub mod accounts;
pub mod assets;
pub mod auth;
pub mod config;
pub mod config_file;
pub mod error;
pub mod every;
pub mod files;
pub mod frame;
pub mod http;
pub mod http_guard;
pub mod hub;
pub mod limit;
pub mod metrics;
pub mod outbox;
pub mod push;
pub mod ready;
pub mod rooms;
pub mod search;
pub mod serve;
pub mod store;
pub mod tls;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use auth::{OpenIdentity, SecretError, SharedIdentity, TokenIdentity};
use config::AuthKind;
pub use config::Config;
use error::ApiError;
use hub::Hub;
use limit::http_rate::HttpRate;
use limit::per_ip::PerIp;
use ready::Readiness;
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
    /// Open WebSockets per client address (`--max-connections-per-ip`).
    pub per_ip: PerIp,
    /// HTTP requests per address and per token user (`--http-rate-per-sec`).
    pub http_rate: HttpRate,
    /// What `/readyz` checks; parts that depend on something outside register here.
    pub readiness: Readiness,
    /// `--auth accounts`: users, passwords and invites.
    pub accounts: Option<accounts::Accounts>,
    /// The search index and its indexer (`GET /api/search`); `None` with `--search false`.
    pub search: Option<search::Search>,
    /// Web Push (`GET /api/push/key`, subscriptions, the worker); `None` with `--push false`.
    pub push: Option<push::Push>,
    /// v1.2: uploaded files (`/api/rooms/{room}/files`, `/api/files/{id}`).
    pub files: Option<files::Files>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Auth(#[from] SecretError),
    #[error("--auth accounts: {0}")]
    Accounts(String),
    #[error(transparent)]
    Search(#[from] search::SearchError),
    #[error("files: {0}")]
    Files(String),
}

/// The identity checker `config` asks for (`--auth`), with its key in token mode.
pub fn identity(config: &Config) -> Result<SharedIdentity, SecretError> {
    Ok(match config.auth {
        AuthKind::Open => Arc::new(OpenIdentity),
        // `--auth accounts` checks tokens against the accounts too: see [`AppState::new`].
        AuthKind::Token | AuthKind::Accounts => {
            let secret = auth::load_secret(
                config.auth_secret_file.as_deref(),
                config.auth_secret.as_deref(),
            )?;
            Arc::new(TokenIdentity::new(&secret, config.limits()))
        }
    })
}

impl AppState {
    /// Opens the store, builds the state and starts the heartbeat and sweeper tasks. Call
    /// within a tokio runtime. Fails when the store cannot be opened or `--auth token` has no
    /// usable key (the error says what to do).
    pub fn new(config: Config) -> Result<Self, StartError> {
        let mut identity = identity(&config)?;
        let accounts = match config.auth {
            AuthKind::Accounts => {
                let secret = auth::load_secret(
                    config.auth_secret_file.as_deref(),
                    config.auth_secret.as_deref(),
                )?;
                let prepared = accounts::prepare(&config, &secret, config.limits())
                    .map_err(StartError::Accounts)?;
                identity = Arc::new(prepared.identity.clone());
                Some(prepared)
            }
            _ => None,
        };
        let store = store::open(&config.store_settings())?;
        let conn = ConnSettings {
            identity,
            auth_timeout: config.auth_timeout,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            max_rooms: config.max_rooms_per_connection,
            rate: ws::quota(config.rate_per_sec, config.rate_burst),
            close_grace: config.shutdown_grace,
            version: env!("CARGO_PKG_VERSION"),
            rooms_per_ip: crate::limit::rooms_per_ip::RoomsPerIp::new(config.max_rooms_per_ip),
        };
        let shutdown = CancellationToken::new();
        let http_rate = HttpRate::new(
            config.http_rate_per_sec,
            config.http_rate_burst,
            config.http_rate_keys,
        );
        sweep_rate_keys(http_rate.clone(), shutdown.clone());
        metrics::init();
        let readiness = Readiness::default();
        let probe = store.clone();
        readiness.register("store", move || {
            if probe.ready() {
                Ok(())
            } else {
                Err("the last commit failed (see the log)".into())
            }
        });
        let settings = config.store_settings();
        let search = match config.search.search_on {
            true => Some(search::Search::start(
                &config.search,
                &store,
                &settings.kind,
                &settings.data_dir,
            )?),
            false => None,
        };
        let files = files::Files::open(&config.files, &settings, config.http_request_timeout)
            .map_err(StartError::Files)?;
        files.spawn_sweep(store.clone(), shutdown.clone());
        let hub = Hub::new(config.hub(), store);
        let push = config
            .push
            .push_on
            .then(|| push::Push::start(&config.push, &hub, shutdown.clone()));
        hub.set_files(files.clone());
        flush_presence(hub.clone(), config.presence_interval, shutdown.clone());
        let accounts = accounts.map(|p| p.start(&config, hub.clone(), shutdown.clone()));
        Ok(AppState {
            accounts,
            readiness,
            hub,
            heartbeat: heartbeat(config.ping_interval, shutdown.clone()),
            per_ip: PerIp::new(config.max_connections_per_ip),
            http_rate,
            search,
            push,
            files: Some(files),
            config: Arc::new(config),
            conn: Arc::new(conn),
            shutdown,
            tracker: TaskTracker::new(),
        })
    }
}

/// Every `period`, sends the presence coalesced since the last tick (one task for the server).
fn flush_presence(hub: Hub, period: std::time::Duration, stop: CancellationToken) {
    every::every(period, stop, move || {
        hub.flush_presence();
        std::future::ready(())
    });
}

/// Every few seconds, forgets HTTP rate keys that are back at a full burst.
fn sweep_rate_keys(rate: HttpRate, stop: CancellationToken) {
    every::every(std::time::Duration::from_secs(5), stop, move || {
        rate.sweep();
        std::future::ready(())
    });
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

/// The whole application: `/ws`, classic `/`, `/api`, `/healthz`, `/readyz`, `/metrics`, and
/// the web app.
pub fn router(state: AppState) -> Router {
    let body_limit = axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes);
    let api_guard = axum::middleware::from_fn_with_state(state.clone(), http_guard::guard);
    let request_timeout = TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        state.config.http_request_timeout,
    );
    Router::new()
        .merge(http::router().route_layer(api_guard.clone()))
        .fallback(fallback)
        .layer(request_timeout)
        .layer(CompressionLayer::new())
        .layer(body_limit)
        // Files stream their bodies both ways under their own limits: outside the body limit,
        // the request timeout (an upload has a stall timeout instead) and compression (ranges).
        .merge(http::files::router().route_layer(api_guard))
        // WebSocket upgrades stay outside the compression layer.
        .route("/ws", get(ws::ws_handler))
        .route("/", get(ws::root_handler))
        // A 5xx answer is logged where its cause is (error.rs, the store's writer, once per
        // burst), not once more per request here.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
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
/// 1001 and returns once they are closed or `shutdown_grace` has passed. With `--tls-cert` and
/// `--tls-key` the port speaks TLS; a missing or mismatched key is an error before serving.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve(
        listener,
        AppState::new(config).map_err(std::io::Error::other)?,
        shutdown,
    )
    .await
}

/// [`run`] with a state built by the caller (for example with readiness checks registered).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = state.config.shutdown_grace;
    let token = state.shutdown.clone();
    let tracker = state.tracker.clone();
    let hub = state.hub.clone();
    let http = serve::HttpSettings::from(&*state.config);
    let admission = serve::Admission::from(&*state.config);
    let tls = match (&state.config.tls_cert, &state.config.tls_key) {
        (Some(cert), Some(key)) => {
            let store = tls::CertStore::load(cert, key)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let cfg = store.server_config().map_err(std::io::Error::other)?;
            tls::spawn_reloader(store, state.config.tls_watch_interval, token.clone());
            Some(serve::Tls {
                acceptor: Arc::new(cfg).into(),
                handshake: state.config.tls_handshake_timeout,
            })
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        "banter {} listening on {scheme}://{} (auth: {:?})",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?,
        state.config.auth
    );
    let app = router(state);
    let server = tokio::spawn(serve::serve(
        listener,
        app,
        http,
        admission,
        tls,
        token.clone(),
    ));
    drain(server, shutdown, (hub, token, tracker), grace).await
}

/// Waits for `shutdown` (or the server stopping by itself), then closes every connection.
async fn drain(
    mut server: tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    (hub, token, tracker): (Hub, CancellationToken, TaskTracker),
    grace: std::time::Duration,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    tokio::select! {
        _ = &mut shutdown => {}
        res = &mut server => {
            token.cancel();
            return res.map_err(std::io::Error::other)?;
        }
    }
    tracing::info!(
        connections = tracker.len(),
        "shutting down: closing every WebSocket with 1001"
    );
    // No presence while everyone leaves: closing is O(connections), not O(connections²).
    hub.close();
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
    // Read positions not saved yet are saved before the process ends.
    let saved = tokio::time::timeout(grace.max(std::time::Duration::from_secs(1)), async {
        hub.flush_positions().await
    });
    if !matches!(saved.await, Ok(Ok(Ok(())))) {
        tracing::warn!("the latest read positions may not have been saved");
    }
    Ok(())
}
