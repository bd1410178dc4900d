//! Writing what the hub queued for a connection: a batch at a time (feed every frame, flush
//! once), and a replay's [`Backlog`] a chunk at a time as the client takes it, read from the
//! room's hot window or else from the store (off the runtime, through the hub's read gate). A
//! client that does not read blocks its own writer, which then holds one chunk, and no read pass.

use std::collections::VecDeque;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes};
use futures_util::{Sink, SinkExt};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::end::End;
use crate::frame::Frame;
use crate::hub::{BacklogStep, Hub, Outbound};
use crate::outbox::{Backlog, Outbox};

/// Writes `batch` (taken from the outbox), emptying it; flushes once at the end.
pub(super) async fn batch<S>(
    socket: &mut S,
    hub: &Hub,
    peer: u64,
    batch: &mut VecDeque<Outbound>,
) -> Result<(), End>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    for out in batch.drain(..) {
        match out {
            Outbound::Frame(f) => feed(socket, f).await?,
            Outbound::Batch(fs) => {
                for f in fs {
                    feed(socket, f).await?;
                }
            }
            // Boxed: the connection's task holds a replay's state only while one is written.
            Outbound::Backlog(b) => Box::pin(backlog(socket, hub, peer, b)).await?,
        }
    }
    socket.flush().await.map_err(|_| End::Broken)
}

async fn feed<S>(socket: &mut S, f: Frame) -> Result<(), End>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    socket.feed(text(f)).await.map_err(|_| End::Broken)
}

/// Writes the rest of a replay, a chunk at a time. When the store no longer holds part of it
/// (retention, or a lost history), the connection ends as too slow: the client resumes and is
/// told what is missing.
async fn backlog<S>(socket: &mut S, hub: &Hub, peer: u64, mut b: Backlog) -> Result<(), End>
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    loop {
        let frames = match hub.backlog_window(peer, &mut b) {
            BacklogStep::Done => return Ok(()),
            BacklogStep::Frames(fs) => fs,
            BacklogStep::Store => read(hub, &mut b).await?,
        };
        for f in frames {
            feed(socket, f).await?;
        }
        socket.flush().await.map_err(|_| End::Broken)?;
    }
}

/// The next chunk of `b` from the store, on the blocking pool, with a read pass.
async fn read(hub: &Hub, b: &mut Backlog) -> Result<Vec<Frame>, End> {
    let _pass = hub
        .reads()
        .enter(&b.room, false)
        .await
        .map_err(|_| End::TooSlow)?;
    let (reader, mut cursor) = (hub.clone(), b.clone());
    let (cursor, read) = tokio::task::spawn_blocking(move || {
        let read = reader.backlog_store(&mut cursor);
        (cursor, read)
    })
    .await
    .map_err(|_| End::Broken)?;
    *b = cursor;
    read.map_err(|_| {
        tracing::info!(room = %b.room, "a replay's history is gone: the client resumes");
        End::TooSlow
    })
}

/// Writes what is queued for the client (not the rest of replays), bounded by `grace`.
pub(super) async fn flush_outbox<S>(socket: &mut S, outbox: &Outbox, grace: Duration)
where
    S: Sink<Message, Error = axum::Error> + Unpin,
{
    let mut batch = VecDeque::new();
    outbox.take(&mut batch);
    let write = async {
        for out in batch {
            let frames = match out {
                Outbound::Frame(f) => vec![f],
                Outbound::Batch(fs) => fs,
                Outbound::Backlog(_) => Vec::new(),
            };
            for f in frames {
                socket.feed(text(f)).await?;
            }
        }
        socket.flush().await
    };
    let _ = timeout(grace, write).await;
}

/// Runs a write to the socket unless the server shuts down, the client is kicked, or the client
/// stays silent past its idle deadline first: a client that stops reading blocks a write, and
/// must not keep its connection (or its memory) alive by doing so. `None` means written.
pub(super) async fn guarded(
    write: impl Future<Output = Result<(), End>>,
    shutdown: &CancellationToken,
    outbox: &Outbox,
    idle_deadline: Instant,
) -> Option<End> {
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => Some(End::Shutdown),
        _ = outbox.kicked() => Some(End::TooSlow),
        _ = sleep_until(idle_deadline) => Some(End::Idle),
        res = write => res.err(),
    }
}

/// A frame as a WebSocket text message: the edge where Banter's [`Frame`] becomes axum's type.
/// The bytes are shared, not copied (axum checks that they are UTF-8, which a `Frame` always is).
fn text(f: Frame) -> Message {
    Message::Text(Utf8Bytes::try_from(f.into_bytes()).unwrap_or_default())
}
