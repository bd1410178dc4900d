//! The user's rooms as the server keeps them (`GET /api/me/rooms`): the same list on every
//! device and after a reload. The page starts from what this browser remembered (localStorage)
//! and the room in its address, then takes the server's list once per connection:
//! - rooms on the server's list that the page lacks are added and joined (joined elsewhere);
//! - rooms this browser remembered (localStorage) that the server's list lacks are dropped (left
//!   elsewhere), unless on screen or joined on this page since it loaded; every other room the
//!   page has and the list lacks (the default room, those joined here, whose `PUT` may still be
//!   on its way) is put on the server's list;
//! - an empty server list is a user the server has no list for yet: this page's rooms become it.

use banter_protocol::ClientMsg;

use super::Session;

/// What taking the server's list asks of the caller.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListTaken {
    /// Frames to write (joins of rooms added, leaves of rooms dropped).
    pub frames: Vec<ClientMsg>,
    /// Rooms to put on the server's list.
    pub upload: Vec<String>,
}

impl Session {
    /// Remembers that the user joined `room` on this page (see the module docs).
    pub(super) fn joined_here(&mut self, room: &str) {
        if !self.joined_here.iter().any(|r| r == room) {
            self.joined_here.push(room.to_string());
        }
    }

    /// Takes the server's list of the user's rooms (see the module docs).
    pub fn take_room_list(&mut self, stored: &[String]) -> ListTaken {
        let mut out = ListTaken::default();
        if stored.is_empty() {
            out.upload = self.my_rooms.clone();
            return out;
        }
        let can_join = self.joined_as.is_some() && self.welcomed;
        for room in stored {
            if self.limits.room(room).is_ok() && !self.my_rooms.contains(room) {
                self.my_rooms.push(room.clone());
                if can_join {
                    out.frames.push(self.join_frame(room));
                }
            }
        }
        let extra: Vec<String> = self
            .my_rooms
            .iter()
            .filter(|r| !stored.contains(r))
            .cloned()
            .collect();
        for room in extra {
            let cached = self.restored.contains(&room);
            let on_screen = self.dm.is_none() && self.room == room;
            if !cached || self.joined_here.contains(&room) || on_screen {
                out.upload.push(room);
            } else {
                self.my_rooms.retain(|r| *r != room);
                self.rooms.remove(&room);
                if self.core.leave(&room) {
                    out.frames.push(ClientMsg::Leave { room });
                }
            }
        }
        out
    }
}
