//! Typing: a `typing` frame for the room on screen at most every [`TYPING_EVERY_MS`], and
//! none for [`TYPING_QUIET_AFTER_SEND_MS`] after a send. The server sends `typing` on its
//! presence tick while a message goes at once, so a `typing` made just before a message can
//! arrive just after it; receivers take a `typing` that comes within
//! [`super::room::TYPING_STALE_AFTER_MESSAGE_MS`] of its author's message as such late news,
//! and since senders stay quiet longer than that after a send, no real one is lost.

use banter_protocol::ClientMsg;

use super::{Session, TYPING_SHOWS_MS};

/// The least time between two `typing` frames for one room, in milliseconds.
pub const TYPING_EVERY_MS: f64 = 3_000.0;

/// How long after a send no `typing` frame goes, in milliseconds (more than receivers ignore
/// after a message: see the module docs).
pub const TYPING_QUIET_AFTER_SEND_MS: f64 = 1_000.0;

// Receivers ignore late typing for less time than senders stay quiet.
const _: () = assert!(TYPING_QUIET_AFTER_SEND_MS > super::room::TYPING_STALE_AFTER_MESSAGE_MS);

impl Session {
    /// The user sent a message at `self.now`: typing starts over after a quiet while.
    pub(super) fn typing_sent(&mut self) {
        self.last_typing = None;
        self.typing_quiet_until = self.now + TYPING_QUIET_AFTER_SEND_MS;
    }

    /// How long until a `typing` frame may go again after a send (`None`: not held by one).
    pub fn typing_quiet_for(&self, now: f64) -> Option<f64> {
        (now < self.typing_quiet_until).then_some(self.typing_quiet_until - now)
    }

    /// A `typing` frame for the room (or conversation) on screen, at most every
    /// [`TYPING_EVERY_MS`], none right after a send.
    pub fn typing_frame(&mut self, now: f64) -> Vec<ClientMsg> {
        if self.typing_quiet_for(now).is_some() {
            return Vec::new();
        }
        let Some(target) = self.screen_room().map(str::to_string) else {
            return Vec::new();
        };
        if !self.core.is_joined(&target) {
            return Vec::new();
        }
        if let Some((room, at)) = &self.last_typing
            && *room == target
            && now - at < TYPING_EVERY_MS
        {
            return Vec::new();
        }
        self.last_typing = Some((target.clone(), now));
        vec![ClientMsg::Typing { room: target }]
    }

    /// Whether some typing indicator is too old to show.
    pub fn typing_expired(&self, now: f64) -> bool {
        self.rooms
            .values()
            .any(|r| r.typing.iter().any(|(_, at)| now - at >= TYPING_SHOWS_MS))
    }

    /// Forgets typing indicators that are too old; returns whether any went.
    pub fn expire_typing(&mut self, now: f64) -> bool {
        let mut any = false;
        for r in self.rooms.values_mut() {
            any |= r.expire_typing(now);
        }
        any
    }
}
