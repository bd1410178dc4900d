//! The accept loop: TCP connections served by hyper-util's HTTP/1 + HTTP/2 builder, in place of
//! `axum::serve`, because it lets us bound what one socket may hold:
//!
//! - at accept, before any byte is read, `--max-tcp-connections-per-ip` sockets per peer address
//!   (trusted proxies exempt); one over is closed at once and counted;
//! - from accept to the first complete request head, `--http-header-timeout`, TLS handshake and
//!   HTTP/1-or-2 detection included ([`deadline`]); after it, hyper's header timeout bounds each
//!   HTTP/1 request head and the idle time between keep-alive requests;
//! - while the peer accepts none of what we write, `--write-timeout` ([`accepted`]), for HTTP and
//!   upgraded WebSockets alike.
//!
//! With [`Tls`], each accepted connection first completes a TLS handshake (in its own task,
//! bounded by `--tls-handshake-timeout` and by the first-request deadline), so `https://` and
//! `wss://` share the port; the certificate comes from [`crate::tls::CertStore`] at each
//! handshake, so a reload needs no restart.
//!
//! Each request carries the peer as axum's `ConnectInfo<SocketAddr>` and the client as a
//! [`crate::limit::proxy::ClientAddr`] (the peer, or behind a `--trusted-proxy` the address it forwarded for), for the
//! per-address limits and the connection log. TCP_NODELAY is set on every connection. When
//! `stop` is cancelled, the loop stops accepting and waits for in-flight HTTP requests
//! (upgraded WebSockets are tracked and closed by [`crate::run`]).

mod accepted;
mod deadline;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::Config;
use crate::limit::per_ip::{IpGuard, PerIp};
use crate::limit::proxy::TrustedProxies;
use crate::metrics::{self, SocketClosed};
use accepted::Accepted;
use deadline::{FirstRequest, first_request};

/// HTTP connection settings, from the [`Config`].
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// Longest wait for a request's complete headers, and from accept to the first request's
    /// (zero: none).
    pub header_timeout: Duration,
    /// HTTP/2 ping period, to find dead connections.
    pub h2_keepalive: Duration,
    /// Longest a write may stay blocked on a peer that reads nothing (zero: none).
    pub write_timeout: Duration,
}

impl From<&Config> for HttpSettings {
    fn from(c: &Config) -> Self {
        HttpSettings {
            header_timeout: c.http_header_timeout,
            h2_keepalive: c.ping_interval,
            write_timeout: c.write_timeout,
        }
    }
}

/// Who may connect: the raw TCP cap per address, and the proxies whose `X-Forwarded-For` is
/// believed.
#[derive(Clone)]
pub struct Admission {
    /// Sockets per peer address (`--max-tcp-connections-per-ip`).
    pub per_ip: PerIp,
    pub trusted: TrustedProxies,
}

impl From<&Config> for Admission {
    fn from(c: &Config) -> Self {
        Admission {
            per_ip: PerIp::new(c.max_tcp_connections_per_ip),
            trusted: TrustedProxies::new(&c.trusted_proxies),
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

/// What every connection's task shares.
struct Shared {
    app: Router,
    builder: Builder<TokioExecutor>,
    http: HttpSettings,
    trusted: TrustedProxies,
    tls: Option<Tls>,
}

/// Serves `app` on `listener` until `stop` is cancelled; see the module docs.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: HttpSettings,
    admission: Admission,
    tls: Option<Tls>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        app,
        builder: builder(http),
        http,
        trusted: admission.trusted.clone(),
        tls,
    });
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
        let Some(slot) = admit(&admission, remote) else {
            // Reset unread, at once: it costs no task, no buffer and no TIME_WAIT here.
            let _ = tcp.set_zero_linger();
            continue;
        };
        // Chat frames are small and latency matters more than packet count.
        let _ = tcp.set_nodelay(true);
        tokio::spawn(accepted(
            tcp,
            remote,
            slot,
            shared.clone(),
            graceful.watcher(),
        ));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A slot under the per-address TCP cap for `remote`, or `None` (counted) when it is full. A
/// trusted proxy's connections are not counted: they carry many clients.
fn admit(admission: &Admission, remote: SocketAddr) -> Option<Option<IpGuard>> {
    let ip = remote.ip().to_canonical();
    if admission.trusted.trusts(ip) {
        return Some(None);
    }
    match admission.per_ip.try_open(Some(ip)) {
        Some(slot) => Some(Some(slot)),
        None => {
            metrics::socket_closed(SocketClosed::PerIp);
            tracing::debug!(%remote, "connection refused: --max-tcp-connections-per-ip reached");
            None
        }
    }
}

/// One accepted socket, from the TLS handshake (if any) to its end, under the first-request
/// deadline.
async fn accepted(
    tcp: TcpStream,
    remote: SocketAddr,
    slot: Option<IpGuard>,
    shared: Arc<Shared>,
    watcher: Watcher,
) {
    let io = Accepted::new(tcp, shared.http.write_timeout, slot);
    let first = FirstRequest::default();
    let served = async {
        match &shared.tls {
            None => connection(io, remote, &shared, first.clone(), watcher).await,
            Some(tls) => match tokio::time::timeout(tls.handshake, tls.acceptor.accept(io)).await {
                Ok(Ok(stream)) => {
                    connection(stream, remote, &shared, first.clone(), watcher).await;
                }
                Ok(Err(e)) => tracing::debug!(%remote, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
            },
        }
    };
    if first_request(served, shared.http.header_timeout, &first)
        .await
        .is_none()
    {
        metrics::socket_closed(SocketClosed::NoRequest);
        tracing::debug!(%remote, "closed: no complete request within --http-header-timeout");
    }
}

/// Serves one connection (plain or TLS) to its end.
async fn connection<IO>(
    io: IO,
    remote: SocketAddr,
    shared: &Shared,
    first: FirstRequest,
    watcher: Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (app, trusted) = (shared.app.clone(), shared.trusted.clone());
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        first.seen();
        let client = trusted.client(remote, req.headers());
        let ext = req.extensions_mut();
        ext.insert(ConnectInfo::<SocketAddr>(remote));
        ext.insert(client);
        app.clone().oneshot(req)
    });
    let conn = shared
        .builder
        .serve_connection_with_upgrades(TokioIo::new(io), service);
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
