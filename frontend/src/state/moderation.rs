//! v1.2 private rooms and moderation, as the page keeps them: the user's role in each room and
//! whether it is private (from `joined`, then the `private` and `public` entries), and
//! `removed` (removed, banned, or taken out of a group conversation): the room leaves the
//! user's list at once, nothing more comes from it, and `removed` names it for the notice.
//! What the settings panel shows of other members is asked over HTTP when it opens
//! (`components/room_settings.rs`), never kept here.

use banter_protocol::{Change, ChangeKind, ClientMsg, RoomRole};

use super::{PresenceSummary, RoomState, Session, summarize};

/// Keys of moderation lines, apart from the presence lines' (which count up from 0).
const MOD_KEY: u64 = 1 << 48;

/// The quiet lines of `room` in order: joins and leaves (collapsed) and moderation entries.
pub fn quiet_lines(room: &RoomState) -> Vec<PresenceSummary> {
    let mut lines = summarize(&room.events);
    lines.extend(room.mod_lines.iter().cloned());
    lines.sort_by_key(|l| l.after_seq);
    lines
}

/// What moderation entry `c` says, from `me`'s side ("olive muted you").
pub fn moderation_text(c: &Change, me: &str) -> String {
    let subject = c.text.as_deref().unwrap_or_default();
    let who = if subject == me { "you" } else { subject };
    let by = if c.user == me { "You" } else { c.user.as_str() };
    match c.kind {
        ChangeKind::Member => format!("{by} added {who} as a member"),
        ChangeKind::Moderator => format!("{by} made {who} a moderator"),
        ChangeKind::Owner => format!("{by} made {who} an owner"),
        ChangeKind::Remove => format!("{by} removed {who}"),
        ChangeKind::Ban => format!("{by} banned {who}"),
        ChangeKind::Unban => format!("{by} lifted the ban on {who}"),
        ChangeKind::Mute => format!("{by} muted {who}"),
        ChangeKind::Unmute => format!("{by} unmuted {who}"),
        ChangeKind::Private => format!("{by} made this room private"),
        ChangeKind::Public => format!("{by} made this room public"),
        other => format!("{by}: {}", other.as_str()),
    }
}

impl Session {
    /// A `joined`'s v1.2 fields: the user's role in `room` and whether it is private.
    pub(super) fn note_access(&mut self, room: &str, role: Option<RoomRole>, private: bool) {
        let state = self.room_mut(room);
        state.role = role;
        state.private = private;
    }

    /// A new moderation entry: its quiet line, the user's own role when it changed, and
    /// whether the room is private after a `private` or `public` entry.
    pub(super) fn moderation_line(&mut self, c: &Change) {
        let me = self.name.clone().unwrap_or_default();
        let text = moderation_text(c, &me);
        let state = self.room_mut(&c.room);
        if c.text.as_deref() == Some(me.as_str())
            && let Some(role) = c.kind.role()
        {
            state.role = Some(role);
        }
        match c.kind {
            ChangeKind::Private => state.private = true,
            ChangeKind::Public => state.private = false,
            _ => {}
        }
        state.mod_lines.push(PresenceSummary {
            after_seq: c.seq.saturating_sub(1),
            key: MOD_KEY + c.seq,
            text,
        });
    }

    /// The user's role in the room on screen (none: an ordinary member of a public room).
    pub fn current_role(&self) -> Option<RoomRole> {
        self.current().and_then(|r| r.role)
    }

    /// Whether the user may delete anyone's message on screen: an owner or moderator of the
    /// room, or a server admin (everyone may delete their own).
    pub fn moderates_current(&self) -> bool {
        self.admin
            || self
                .current_role()
                .is_some_and(|r| r >= RoomRole::Moderator)
    }

    /// Whether the room on screen is private.
    pub fn current_private(&self) -> bool {
        self.current().is_some_and(|r| r.private)
    }

    /// `removed`: `room` is gone from the user's rooms (or conversations); what was on screen
    /// moves to their first other room. Returns no frames: the server already let them go.
    pub(super) fn on_removed(&mut self, room: &str) -> Vec<ClientMsg> {
        self.rooms.remove(room);
        self.core.leave(room);
        if let Some(peer) = self.conversations.by_room(room).map(|c| c.peer.clone()) {
            self.conversations.forget(&peer);
            if self.dm.as_deref() == Some(peer.as_str()) {
                self.dm = None;
            }
        }
        self.my_rooms.retain(|r| r != room);
        if self.left.as_deref() == Some(room) {
            self.left = None;
        }
        if self.room == room
            && let Some(next) = self.my_rooms.first().cloned()
        {
            self.room = next.clone();
            if !self.hidden {
                self.mark_read(&next);
            }
        }
        self.removed = Some(room.to_string());
        Vec::new()
    }

    /// The sentence for the `removed` notice.
    pub fn removed_sentence(room: &str) -> String {
        if banter_protocol::is_conversation(room) {
            "You were taken out of a conversation: it is gone from your list.".to_string()
        } else {
            format!(
                "You were removed from #{room} by its owners or moderators: you can no longer read or post there."
            )
        }
    }
}
