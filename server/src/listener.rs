//! The plain-TCP listener ([`TcpNodelay`]: `TCP_NODELAY` on every accepted socket) and the peer
//! address handlers see ([`RemoteAddr`], as `ConnectInfo<RemoteAddr>`), for it and for
//! [`TlsListener`](crate::tls::TlsListener) alike.

use std::io;
use std::net::SocketAddr;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};

use crate::tls::TlsListener;

/// A `TcpListener` whose accepted sockets have `TCP_NODELAY`: chat frames are small and latency
/// matters more than packet count. Accept errors are handled as axum's own listener does.
pub struct TcpNodelay(pub TcpListener);

impl Listener for TcpNodelay {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        let _ = stream.set_nodelay(true);
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Listener::local_addr(&self.0)
    }
}

/// The peer address of a connection, plain or TLS.
#[derive(Debug, Clone, Copy)]
pub struct RemoteAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpNodelay>> for RemoteAddr {
    fn connect_info(stream: IncomingStream<'_, TcpNodelay>) -> Self {
        RemoteAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for RemoteAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        RemoteAddr(*stream.remote_addr())
    }
}
