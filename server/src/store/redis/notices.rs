//! Notices of new conversation messages to other nodes (`direct` frames for members connected
//! there), published by one task in the order they were made, a pipeline per batch. The queue is
//! bounded: when Redis is too slow to keep up, notices are dropped (and logged). A notice is only
//! a nudge: the message itself is stored, and a client finds it by joining the conversation.

use super::conn::Conn;
use tokio::sync::mpsc;

/// Notices waiting for Redis at most.
const QUEUE: usize = 10_000;
/// Notices per pipeline at most.
const BATCH: usize = 256;

/// See the module docs.
pub struct Notices {
    tx: mpsc::Sender<(String, String)>,
}

impl Notices {
    pub fn start(runtime: &tokio::runtime::Handle, conn: Conn) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(run(rx, conn));
        Notices { tx }
    }

    /// Queues `payload` for `channel`; never waits.
    pub fn send(&self, channel: String, payload: String) {
        if self.tx.try_send((channel, payload)).is_err() {
            tracing::warn!("a direct message's notice to other nodes was dropped: Redis is behind");
        }
    }
}

async fn run(mut rx: mpsc::Receiver<(String, String)>, mut conn: Conn) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for (channel, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        let sent: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "direct message notices to other nodes were lost");
        }
    }
}
