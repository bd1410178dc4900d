//! v1.2 `added`: the user was given a place in a private room or a new group conversation by
//! someone else, on any node. A group (`grp-…`) comes into Conversations and a private room
//! into the sidebar's rooms; both are joined at once, without a reload. Idempotent: the page
//! that made the group (or a second `added`) already has it and asks nothing more.

use banter_protocol::{ClientMsg, is_conversation};

use super::{Session, is_group};

impl Session {
    /// An `added` frame: keeps `room` like the user's other rooms and joins it now. A group's
    /// members come from the next `GET /api/conversations` (the caller lists them when a group
    /// is among [`Session::added`]); until then it is named by the people present.
    pub(super) fn on_added(&mut self, room: &str) -> Vec<ClientMsg> {
        if self.my_rooms.iter().any(|r| r == room) {
            return Vec::new();
        }
        if is_conversation(room) || self.limits.room(room).is_err() {
            // A two-person conversation arrives by `direct`; a bad name is nothing to keep.
            return Vec::new();
        }
        self.added.push(room.to_string());
        if is_group(room) {
            // A new conversation: what was written in it before the join is for the user
            // (unread), unlike a room's history from before they came.
            self.room_mut(room).ever_joined = true;
            return self.add_group(room, &[]);
        }
        self.my_rooms.push(room.to_string());
        self.joined_here(room);
        if self.joined_as.is_some() && self.welcomed {
            return vec![self.join_frame(room)];
        }
        Vec::new()
    }

    /// Takes the rooms and groups `added` frames brought since the last call, for the caller
    /// to remember (localStorage, the user's stored list) and, for a group, to list its members.
    pub fn take_added(&mut self) -> Vec<String> {
        std::mem::take(&mut self.added)
    }
}
