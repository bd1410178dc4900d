//! Posting a message: the checks every path makes before the store is asked (the room's name,
//! the user's, a conversation's members, the room's rule: private rooms, mutes and bans), in
//! two forms: [`Hub::post`] for a caller that may not be in the room (HTTP: the room's access
//! and a conversation's members are read from the store when not loaded), and [`Hub::post_now`]
//! for a sender already in it (a WebSocket's `send`: nothing waits). Both end in
//! `Hub::append`, the one path to the store.

use banter_protocol::ValidationError;

use super::{Extra, Hub, refusal};
use crate::rooms::access::Act;
use crate::store::{Appended, StoreError};

impl Hub {
    /// Stores a message, then publishes it to the room and calls `reply`: the one path for
    /// WebSocket sends, HTTP posts and classic clients. Validates every field first (a bad one
    /// is refused before anything is stored); in a private conversation, `user` must be a
    /// member (the loaded room or the cache knows; else the store is read). A
    /// `client_id` already seen from the same `user` in this room within the dedupe window
    /// stores nothing: `reply` gets the original message with `duplicate: true`. With
    /// `reply_to` (v1.2) the message answers that one; the store checks it exists in the room
    /// and stores the thread's root. `reply` runs on the store's thread: it must not block.
    pub async fn post(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        reply_to: Option<u64>,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let extra = Extra {
            reply_to,
            ..Extra::default()
        };
        self.post_with(room, user, text, client_id, extra, reply)
            .await
    }

    /// [`Hub::post`] with what else the message carries (v1.2: a reply's parent, files).
    pub async fn post_with(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        extra: Extra,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let (checked, name) = (self.check_room(room)?, self.inner.cfg.limits.name(user)?);
        if banter_protocol::is_conversation(checked) && self.member_now(checked, name).is_none() {
            // Only the store knows the members: read them (they stay in the members cache).
            self.member(checked, name).await?;
        }
        self.allow(checked, name, Act::Post).await?;
        self.post_allowed(room, user, text, client_id, extra, reply)
    }

    /// [`Hub::post`] for a sender already in the room (a WebSocket's `send`, a classic client):
    /// a conversation's members are then known in memory, so nothing waits for the store. When
    /// only the store knows them (never, for a joined sender), `unavailable`: retry.
    pub fn post_now(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        reply_to: Option<u64>,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let extra = Extra {
            reply_to,
            ..Extra::default()
        };
        self.post_now_with(room, user, text, client_id, extra, reply)
    }

    /// [`Hub::post_now`] with what else the message carries (v1.2: a reply's parent, files).
    pub fn post_now_with(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        extra: Extra,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let (checked, name) = (self.check_room(room)?, self.inner.cfg.limits.name(user)?);
        self.allow_now(checked, name, Act::Post)?;
        self.post_allowed(room, user, text, client_id, extra, reply)
    }

    /// Stores a message the room's rule allowed (see [`Hub::post_now`]).
    fn post_allowed(
        &self,
        room: &str,
        user: &str,
        text: &str,
        client_id: Option<&str>,
        extra: Extra,
        reply: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let room = self.check_room(room)?;
        let user = self.inner.cfg.limits.name(user)?;
        let members = if banter_protocol::is_conversation(room) {
            match self.member_now(room, user) {
                Some(m) => Some(m?),
                None => return Err(refusal(&StoreError::Busy)),
            }
        } else {
            None
        };
        self.append(room, user, text, client_id, members, None, extra, reply)
    }
}
