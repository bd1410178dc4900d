//! The hub's side of one connection: its id and its bounded [`Outbox`].

use std::sync::Arc;

use banter_protocol::ServerMsg;

use crate::outbox::{Outbound, Outbox};

/// See the module docs. Cloning shares the outbox.
#[derive(Clone, Debug)]
pub struct Peer {
    id: u64,
    outbox: Arc<Outbox>,
}

impl Peer {
    pub fn new(id: u64, queue: usize, queue_bytes: usize) -> Self {
        Peer {
            id,
            outbox: Arc::new(Outbox::new(queue, queue_bytes)),
        }
    }

    /// The connection's id, unique within this server.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Queues `out` without waiting. A full queue means the client cannot keep up: it is kicked
    /// (its connection closes with 4000) and the frame is dropped; the client resumes with
    /// `since`.
    pub fn deliver(&self, out: Outbound) -> bool {
        let was_kicked = self.outbox.is_kicked();
        let queued = self.outbox.push(out);
        if !queued && !was_kicked {
            tracing::info!(conn = self.id, "outbound queue full: closing as too slow");
        }
        queued
    }

    /// Encodes `msg` and queues it.
    pub fn send(&self, msg: &ServerMsg) -> bool {
        self.deliver(Outbound::Frame(msg.to_json().into()))
    }

    /// The connection's queue, for its writer.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}
