//! The hub's v1.2 entry point for changes ([`Hub::change`]): an edit, a deletion or a reaction
//! is validated here (its text or emoji, the room, a conversation's membership), then appended
//! like a message: the store checks the rules on the target's stored state and gives it the
//! next `seq` ([`crate::store::entry`]); the completion publishes it to the room in order with
//! messages and acks it. Replies go through [`Hub::post`] with `reply_to`.

use banter_protocol::{ChangeKind, ErrorCode, ValidationError};

use super::{Extra, Hub};
use crate::rooms::access::Act;
use crate::store::{Appended, NewChange, Refusal, RoomAccess, StoreError};

/// A change as a client asked for it.
#[derive(Debug, Clone, Copy)]
pub struct ChangeRequest<'a> {
    pub room: &'a str,
    pub user: &'a str,
    pub target: u64,
    pub kind: ChangeKind,
    /// An edit's new text (empty otherwise).
    pub text: &'a str,
    /// A reaction's emoji (empty otherwise).
    pub emoji: &'a str,
    pub client_id: Option<&'a str>,
}

/// A refused change or reply, as a client sees it.
pub fn refused(r: &Refusal) -> ValidationError {
    let code = match r {
        Refusal::NotFound => ErrorCode::NotFound,
        Refusal::Forbidden(_) => ErrorCode::Forbidden,
        Refusal::Limit(_) => ErrorCode::TooLarge,
    };
    ValidationError {
        code,
        message: r.to_string(),
    }
}

impl Hub {
    /// Appends a change by `req.user` (already authenticated and, over WebSocket, joined), then
    /// publishes it and calls `reply` (on the store's thread: it must not block). A change that
    /// changes nothing is acked without a `seq` ([`Appended::noop`]).
    pub async fn change(
        &self,
        req: ChangeRequest<'_>,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let (room, user) = (
            self.check_room(req.room)?,
            self.inner.cfg.limits.name(req.user)?,
        );
        if banter_protocol::is_conversation(room) && self.member_now(room, user).is_none() {
            // Only the store knows the members: read them (they stay in the members cache).
            self.member(room, user).await?;
        }
        let access = self.allow(room, user, Act::Post).await?;
        self.change_inner(req, &access, reply)
    }

    /// [`Hub::change`] for a sender already in the room (a WebSocket): a conversation's
    /// members are then known in memory, so nothing waits for the store.
    pub fn change_now(
        &self,
        req: ChangeRequest<'_>,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let room = self.check_room(req.room)?;
        let user = self.inner.cfg.limits.name(req.user)?;
        let access = self.allow_now(room, user, Act::Post)?;
        self.change_inner(req, &access, reply)
    }

    /// [`Hub::change_now`] once the room's rule allowed it (`access`: the room's, which says
    /// whether the changer may delete others' messages).
    fn change_inner(
        &self,
        req: ChangeRequest<'_>,
        access: &RoomAccess,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let room = self.check_room(req.room)?;
        let user = self.inner.cfg.limits.name(req.user)?;
        let members = if banter_protocol::is_conversation(room) {
            match self.member_now(room, user) {
                Some(m) => Some(m?),
                None => return Err(super::refusal(&StoreError::Busy)),
            }
        } else {
            None
        };
        let lifecycle = &self.inner.cfg.lifecycle;
        let emoji = match req.kind {
            ChangeKind::React | ChangeKind::Unreact => Some(lifecycle.emoji(req.emoji)?.to_owned()),
            ChangeKind::Edit | ChangeKind::Delete => None,
            _ => {
                return Err(ValidationError {
                    code: banter_protocol::ErrorCode::BadRequest,
                    message: "moderation goes through the members, bans and mutes routes".into(),
                });
            }
        };
        let change = NewChange {
            target: req.target,
            kind: req.kind,
            emoji,
            // Room owners and moderators, and server admins (see `crate::rooms::access`).
            moderator: self.allow_in(access, user, Act::Moderate).is_ok(),
            limits: lifecycle.limits(),
        };
        let extra = Extra {
            reply_to: None,
            change: Some(change),
        };
        self.append(
            room,
            user,
            req.text,
            req.client_id,
            members,
            None,
            extra,
            reply,
        )
    }
}
