//! The user directory: which connections chat under which name, for direct messages.
//!
//! A name may have several connections (a user with two tabs); a direct message goes to all of
//! them. Direct messages are not stored: they reach whoever is connected now.

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

    /// Makes `peer` reachable by direct messages to `name`.
    pub fn register(&self, name: &Arc<str>, peer: &Peer) {
        self.lock()
            .entry(name.clone())
            .or_default()
            .push(peer.clone());
    }

    /// Forgets one connection of `name`.
    pub fn unregister(&self, name: &str, peer_id: u64) {
        let mut users = self.lock();
        if let Some(peers) = users.get_mut(name) {
            peers.retain(|p| p.id() != peer_id);
            if peers.is_empty() {
                users.remove(name);
            }
        }
    }

    /// Sends a private message (already validated) to every connection of `to`, and a copy
    /// echoing `client_id` to every connection of `from`.
    pub fn direct(
        &self,
        from: &str,
        to: &str,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<(), ValidationError> {
        let users = self.lock();
        let Some(recipients) = users.get(to) else {
            return Err(ValidationError {
                code: ErrorCode::UnknownUser,
                message: format!("no user named `{to}` is connected"),
            });
        };
        let mut dm = DirectMessage {
            from: from.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            ts: now_ms(),
            client_id: None,
        };
        if from != to {
            let frame: Frame = ServerMsg::Direct(dm.clone()).to_json().into();
            for p in recipients {
                p.deliver(Outbound::Frame(frame.clone()));
            }
        }
        dm.client_id = client_id.map(str::to_owned);
        let frame: Frame = ServerMsg::Direct(dm).to_json().into();
        for p in users.get(from).into_iter().flatten() {
            p.deliver(Outbound::Frame(frame.clone()));
        }
        Ok(())
    }
}
