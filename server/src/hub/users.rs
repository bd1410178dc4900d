//! The user directory: which connections chat under which name, to tell them of messages in
//! their private conversations (see `conversations`).
//!
//! A name may have several connections (a user with two tabs); a `direct` frame goes to each
//! that has not joined the conversation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::peer::Peer;
use crate::outbox::Outbound;
use crate::store::Frame;

/// See the module docs.
#[derive(Default)]
pub struct Users {
    by_name: Mutex<HashMap<Arc<str>, Vec<Peer>>>,
}

impl Users {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Vec<Peer>>> {
        self.by_name.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `peer` reachable by direct messages to `name`; `true` for the name's first
    /// connection here.
    pub fn register(&self, name: &Arc<str>, peer: &Peer) -> bool {
        let mut users = self.lock();
        let peers = users.entry(name.clone()).or_default();
        peers.push(peer.clone());
        peers.len() == 1
    }

    /// Forgets one connection of `name`; `true` when it was the name's last one here.
    pub fn unregister(&self, name: &str, peer_id: u64) -> bool {
        let mut users = self.lock();
        if let Some(peers) = users.get_mut(name) {
            peers.retain(|p| p.id() != peer_id);
            if peers.is_empty() {
                users.remove(name);
                return true;
            }
        }
        false
    }

    /// Revokes every connection of `name` here (see [`crate::outbox::Outbox::revoke`]).
    pub fn revoke(&self, name: &str) -> usize {
        let users = self.lock();
        let peers = users.get(name).map_or(&[][..], Vec::as_slice);
        for p in peers {
            p.outbox().revoke();
        }
        peers.len()
    }

    /// Whether `name` has a connection here.
    pub fn contains(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }

    /// Queues `frame` to every connection of `name` here for which `skip` is false.
    pub fn deliver_except(&self, name: &str, frame: &Frame, skip: impl Fn(u64) -> bool) {
        let users = self.lock();
        for p in users.get(name).map_or(&[][..], Vec::as_slice) {
            if !skip(p.id()) {
                p.deliver(Outbound::Frame(frame.clone()));
            }
        }
    }
}
