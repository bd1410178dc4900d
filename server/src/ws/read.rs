//! A connection's `read` frames: the user has read a room up to a `seq` (see
//! [`crate::hub::positions`]). Only a room the connection is in: that is where its token's
//! `rooms` claim and a conversation's membership were checked.

use banter_protocol::{ErrorCode, ValidationError};

use super::conn::Conn;

impl Conn {
    /// Moves the user's position in `room` (forward only, at most to its head): pushed to
    /// their other connections in `room`, on every node, and saved.
    pub(super) fn on_read(&mut self, room: &str, seq: u64) -> Result<(), ValidationError> {
        self.joined(room)?;
        let Some(name) = &self.name else {
            return Err(ValidationError {
                code: ErrorCode::NotJoined,
                message: format!("join `{room}` first"),
            });
        };
        self.hub.read_to(name, room, seq, self.peer.id());
        Ok(())
    }
}
