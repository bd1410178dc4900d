//! The hub's side of private rooms and moderation (v1.2): a room's access as the hub knows it
//! (the loaded room's copy, kept current by the moderation entries it publishes; else read from
//! the store), who is a server admin, and the append of a moderation entry. The rule itself is
//! `crate::rooms::access`.

use std::sync::Arc;

use banter_protocol::{ChangeKind, ValidationError};

use super::{Extra, Hub, refusal};
use crate::rooms::access::{self, Act};
use crate::store::{Appended, NewChange, RoomAccess, StoreError};

/// Says whether a user is a server admin (from the accounts' cache: no store read).
pub type Admins = Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl Hub {
    /// Sets who is a server admin (once, at start, with `--auth accounts`).
    pub fn set_admins(&self, admins: Admins) {
        let _ = self.inner.admins.set(admins);
    }

    /// Whether `user` is a server admin.
    pub fn is_admin(&self, user: &str) -> bool {
        self.inner.admins.get().is_some_and(|f| f(user))
    }

    /// Who is present in `room` (here and on other nodes), when it is loaded here.
    pub fn present(&self, room: &str) -> Vec<String> {
        self.inner
            .rooms
            .get(room)
            .map(|r| r.lock().presence.names(usize::MAX).0)
            .unwrap_or_default()
    }

    /// Tells every connection of `user`, on every node, that `by` gave them a place in private
    /// room `room` (an `added` frame): a page learns of a new group or room without
    /// reconnecting.
    pub fn tell_added(&self, user: &str, room: &str, by: &str) {
        let frame: crate::store::Frame = banter_protocol::ServerMsg::Added {
            room: room.to_owned(),
            by: by.to_owned(),
        }
        .to_json()
        .into();
        self.inner.users.deliver_except(user, &frame, |_| false);
        self.inner.store.direct(user, room, &frame);
    }

    /// `room`'s access from memory: `None` when the room is not loaded here.
    pub fn access_now(&self, room: &str) -> Option<Arc<RoomAccess>> {
        let r = self.inner.rooms.get(room)?;
        let st = r.lock();
        (st.loaded && !st.unloaded).then(|| st.access.clone())
    }

    /// `room`'s access: the loaded room's, else the store's.
    pub async fn access(&self, room: &str) -> Result<Arc<RoomAccess>, ValidationError> {
        if let Some(a) = self.access_now(room) {
            return Ok(a);
        }
        let a = self
            .inner
            .store
            .access(room)
            .await
            .map_err(|e| refusal(&e))?;
        Ok(Arc::new(a))
    }

    /// The rule ([`access::check`]) for `user` in a room of access `a`.
    pub fn allow_in(&self, a: &RoomAccess, user: &str, act: Act) -> Result<(), ValidationError> {
        if access::check(a, user, false, act).is_ok() {
            return Ok(());
        }
        access::check(a, user, self.is_admin(user), act)
    }

    /// Whether `user` may `act` in `room` (its access read from the store when not loaded).
    pub async fn allow(
        &self,
        room: &str,
        user: &str,
        act: Act,
    ) -> Result<Arc<RoomAccess>, ValidationError> {
        let a = self.access(room).await?;
        self.allow_in(&a, user, act)?;
        Ok(a)
    }

    /// [`Hub::allow`] for a room loaded here (a sender in it); `unavailable` when it is not.
    pub fn allow_now(
        &self,
        room: &str,
        user: &str,
        act: Act,
    ) -> Result<Arc<RoomAccess>, ValidationError> {
        let a = self
            .access_now(room)
            .ok_or_else(|| refusal(&StoreError::Busy))?;
        self.allow_in(&a, user, act)?;
        Ok(a)
    }

    /// Appends moderation entry `kind` by `actor` about `subject` (its standing already
    /// stored: see `crate::rooms::moderate`); it takes the room's next `seq`, is published in
    /// order (every node's loaded copy folds it, and puts out whom it removes) and then
    /// `reply` runs.
    pub fn moderation_entry(
        &self,
        room: &str,
        actor: &str,
        kind: ChangeKind,
        subject: &str,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let change = NewChange {
            target: 0,
            kind,
            emoji: None,
            moderator: true,
            limits: self.inner.cfg.lifecycle.limits(),
        };
        let extra = Extra {
            change: Some(change),
            ..Extra::default()
        };
        self.append(room, actor, subject, None, None, None, extra, reply)
    }
}
