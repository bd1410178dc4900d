//! The accept loop: TCP connections served by hyper-util's HTTP/1 + HTTP/2 builder, in place of
//! `axum::serve`, because it lets us bound how long a client may take to send its request
//! headers (`--http-header-timeout`; on HTTP/1 the same timer also runs while a keep-alive
//! connection sits idle between requests, so it is the idle timeout too). Without it, clients
//! sending headers a byte at a time hold file descriptors until `accept` fails for everyone.
//!
//! With [`Tls`], each accepted connection first completes a TLS handshake (in its own task,
//! bounded by `--tls-handshake-timeout`), so `https://` and `wss://` share the port; the
//! certificate comes from [`crate::tls::CertStore`] at each handshake, so a reload needs no
//! restart.
//!
//! Each request carries the client's address as axum's `ConnectInfo<SocketAddr>` (for the
//! per-address limits and the connection log). TCP_NODELAY is set on every connection. When
//! `stop` is cancelled, the loop stops accepting and waits for in-flight HTTP requests
//! (upgraded WebSockets are tracked and closed by [`crate::run`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
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

/// Native TLS on the listening port.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// A handshake not finished in this time is dropped.
    pub handshake: Duration,
}

/// Serves `app` on `listener` until `stop` is cancelled; see the module docs.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: HttpSettings,
    tls: Option<Tls>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let builder = Arc::new(builder(http));
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
        let (app, builder, watcher, tls) = (
            app.clone(),
            builder.clone(),
            graceful.watcher(),
            tls.clone(),
        );
        tokio::spawn(async move {
            match tls {
                None => connection(tcp, remote, app, &builder, watcher).await,
                Some(tls) => {
                    match tokio::time::timeout(tls.handshake, tls.acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            connection(stream, remote, app, &builder, watcher).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%remote, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves one accepted connection (plain or TLS) to its end.
async fn connection<IO>(
    io: IO,
    remote: SocketAddr,
    app: Router,
    builder: &Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(remote));
        app.clone().oneshot(req)
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    // Errors here are the client's (reset, timeout, bad request): nothing to report.
    let _ = watcher.watch(conn.into_owned()).await;
}

/// The HTTP/1 + HTTP/2 connection builder with the header-read timeout and HTTP/2 pings.
fn builder(http: HttpSettings) -> Builder<TokioExecutor> {
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
    builder
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
