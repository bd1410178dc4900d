//! The v1.2 `edit`, `delete` and `react` requests of a connection: each in a room it joined,
//! appended through [`Hub::change_now`] as an entry of the room's sequence and acked like a
//! `send` (with the entry's `seq`, or `0` when it changed nothing).
//!
//! [`Hub::change_now`]: crate::hub::Hub::change_now

use banter_protocol::{ChangeKind, ValidationError};

use super::conn::{Conn, answer_send};
use crate::hub::ChangeRequest;

impl Conn {
    /// `edit`: replace the text of your message `seq`.
    pub(super) fn on_edit(
        &mut self,
        room: String,
        seq: u64,
        text: &str,
        client_id: Option<String>,
    ) -> Result<(), ValidationError> {
        self.on_change(room, seq, ChangeKind::Edit, text, "", client_id)
    }

    /// `delete`: delete message `seq`.
    pub(super) fn on_delete(
        &mut self,
        room: String,
        seq: u64,
        client_id: Option<String>,
    ) -> Result<(), ValidationError> {
        self.on_change(room, seq, ChangeKind::Delete, "", "", client_id)
    }

    /// `react`: add (or with `remove`, take back) your reaction `emoji` to message `seq`.
    pub(super) fn on_react(
        &mut self,
        room: String,
        seq: u64,
        emoji: &str,
        remove: bool,
        client_id: Option<String>,
    ) -> Result<(), ValidationError> {
        let kind = if remove {
            ChangeKind::Unreact
        } else {
            ChangeKind::React
        };
        self.on_change(room, seq, kind, "", emoji, client_id)
    }

    fn on_change(
        &mut self,
        room: String,
        target: u64,
        kind: ChangeKind,
        text: &str,
        emoji: &str,
        client_id: Option<String>,
    ) -> Result<(), ValidationError> {
        self.joined(&room)?;
        let name = self.name.clone().unwrap_or_else(|| "".into());
        let peer = self.peer.clone();
        let cid = client_id.clone();
        let req = ChangeRequest {
            room: &room,
            user: &name,
            target,
            kind,
            text,
            emoji,
            client_id: client_id.as_deref(),
        };
        let answer_room = room.clone();
        self.hub.change_now(req, move |result| {
            answer_send(&peer, answer_room, cid, result)
        })
    }
}
