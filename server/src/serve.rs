//! The accept loop: TCP connections served by hyper-util's HTTP/1 + HTTP/2 builder, in place of
//! `axum::serve`, because it lets us bound how long a client may take to send its request
//! headers (`--http-header-timeout`; on HTTP/1 the same timer also runs while a keep-alive
//! connection sits idle between requests, so it is the idle timeout too). Without it, clients
//! sending headers a byte at a time hold file descriptors until `accept` fails for everyone.
//!
//! Each request carries the client's address as axum's `ConnectInfo<SocketAddr>` (for the
//! per-address limits). TCP_NODELAY is set on every connection. When `stop` is cancelled, the
//! loop stops accepting and waits for in-flight HTTP requests (upgraded WebSockets are tracked
//! and closed by [`crate::run`]).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::Config;

/// HTTP connection settings, from the [`Config`].
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// Longest wait for a request's complete headers (zero: none).
    pub header_timeout: Duration,
    /// HTTP/2 ping period, to find dead connections.
    pub h2_keepalive: Duration,
}

impl From<&Config> for HttpSettings {
    fn from(c: &Config) -> Self {
        HttpSettings {
            header_timeout: c.http_header_timeout,
            h2_keepalive: c.ping_interval,
        }
    }
}

/// Serves `app` on `listener` until `stop` is cancelled; see the module docs.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: HttpSettings,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    let header_timeout = Some(http.header_timeout).filter(|d| !d.is_zero());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(http.h2_keepalive));
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, remote) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        // Chat frames are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(remote));
            app.clone().oneshot(req)
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, bad request): nothing to report.
            let _ = conn.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Per-connection accept errors are the client's business; others (out of file descriptors)
/// are logged and retried after a pause, as `axum::serve` does, instead of spinning.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
