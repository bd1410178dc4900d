//! What an accepted socket carries for its whole life, HTTP or upgraded WebSocket alike:
//! its slot under `--max-tcp-connections-per-ip` (freed when the socket is dropped, wherever it
//! ended up: hyper's connection, or the WebSocket task after an upgrade), and the write-progress
//! timeout (`--write-timeout`).
//!
//! The write timeout: while a write or flush cannot proceed (the peer's window and our send buffer
//! are full because the peer stopped reading), a timer runs; any byte accepted stops it. When it
//! fires, the write fails with `TimedOut` and the connection ends: an HTTP/1 client that stops
//! reading a response can no longer hold its socket and the response's memory forever. The timer
//! exists only while a write is blocked, so an idle or flowing connection owns none.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::limit::per_ip::IpGuard;
use crate::metrics;

/// An accepted socket with its per-address slot and write timeout; see the module docs.
pub struct Accepted<IO> {
    io: IO,
    /// Zero: no write timeout.
    write_timeout: Duration,
    /// Running while a write is blocked.
    stalled: Option<Pin<Box<Sleep>>>,
    _slot: Option<IpGuard>,
}

impl<IO> Accepted<IO> {
    pub fn new(io: IO, write_timeout: Duration, slot: Option<IpGuard>) -> Self {
        Accepted {
            io,
            write_timeout,
            stalled: None,
            _slot: slot,
        }
    }

    /// Passes a write's result through, timing how long it stays blocked.
    fn timed<T>(&mut self, cx: &mut Context<'_>, res: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if res.is_ready() {
            self.stalled = None;
            return res;
        }
        if self.write_timeout.is_zero() {
            return Poll::Pending;
        }
        let limit = self.write_timeout;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        metrics::socket_closed(metrics::SocketClosed::WriteTimeout);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the peer accepted no data for {limit:?} (--write-timeout)"),
        )))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Accepted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Accepted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.io).poll_write(cx, buf);
        self.timed(cx, res)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.timed(cx, res)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.io).poll_flush(cx);
        self.timed(cx, res)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.io).poll_shutdown(cx);
        self.timed(cx, res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_blocked_write_fails_after_the_timeout_and_a_flowing_one_never_does() {
        // A pipe whose reader never reads: writes block once its buffer is full.
        let (near, _far) = tokio::io::duplex(64);
        let mut io = Accepted::new(near, Duration::from_secs(3), None);
        let err = io.write_all(&[7; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);

        // A reader that keeps up: no timeout however long the writing takes.
        let (near, mut far) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut sink = Vec::new();
            tokio::io::copy(&mut far, &mut sink)
                .await
                .map(|_| sink.len())
        });
        let mut io = Accepted::new(near, Duration::from_secs(3), None);
        for _ in 0..100 {
            io.write_all(&[1; 100]).await.unwrap();
        }
        io.shutdown().await.unwrap();
        drop(io);
        assert_eq!(reader.await.unwrap().unwrap(), 10_000);
    }
}
