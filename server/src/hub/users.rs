//! The user directory: which connections chat under which name, for direct messages.
//!
//! A name may have several connections (a user with two tabs); a direct message goes to all of
//! them. Direct messages are not stored: they reach whoever is connected now (with a store
//! shared by several nodes, on any node).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use banter_protocol::{DirectMessage, ErrorCode, ServerMsg, ValidationError};

use super::peer::Peer;
use crate::outbox::Outbound;
use crate::store::{Frame, now_ms};

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

    /// Queues `frame` to every connection of `name` here; how many there are.
    pub fn deliver(&self, name: &str, frame: &Frame) -> usize {
        let users = self.lock();
        let peers = users.get(name).map_or(&[][..], Vec::as_slice);
        for p in peers {
            p.deliver(Outbound::Frame(frame.clone()));
        }
        peers.len()
    }

    /// Sends a private message (already validated) to every connection of `to`, here and, through
    /// `elsewhere` (which returns how many other nodes have some), on other nodes; and a copy
    /// echoing `client_id` to every connection of `from` here. `unknown_user` if `to` is
    /// connected nowhere.
    pub fn direct(
        &self,
        from: &str,
        to: &str,
        text: &str,
        client_id: Option<&str>,
        elsewhere: impl FnOnce(&Frame) -> Result<usize, ValidationError>,
    ) -> Result<(), ValidationError> {
        let mut dm = DirectMessage {
            from: from.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            ts: now_ms(),
            client_id: None,
        };
        let reached = if from != to {
            let frame: Frame = ServerMsg::Direct(dm.clone()).to_json().into();
            let here = self.deliver(to, &frame);
            match elsewhere(&frame) {
                Ok(there) => here + there,
                // Delivered here: the sender gets its copy; else the failure is the answer.
                Err(_) if here > 0 => here,
                Err(e) => return Err(e),
            }
        } else {
            self.lock().get(to).map_or(0, Vec::len)
        };
        if reached == 0 {
            return Err(ValidationError {
                code: ErrorCode::UnknownUser,
                message: format!("no user named `{to}` is connected"),
            });
        }
        dm.client_id = client_id.map(str::to_owned);
        let frame: Frame = ServerMsg::Direct(dm).to_json().into();
        self.deliver(from, &frame);
        Ok(())
    }
}
