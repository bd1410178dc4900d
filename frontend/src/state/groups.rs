//! v1.2 group conversations (2 to N people, `grp-…` ids from `POST /api/conversations`): the
//! page keeps one like a room the user is in (on `my_rooms`: joined, resumed, remembered and
//! restored like one) and shows it under Conversations by its members' names, not as `#grp-…`.

use banter_protocol::ClientMsg;
use banter_protocol::http::ConversationSummary;

use super::Session;

pub use banter_protocol::{GROUP_PREFIX, is_group};

impl Session {
    /// A group conversation the user is in, with its `members` (when known): kept like a
    /// room; returns its `join` when it was new and the connection may join now.
    pub fn add_group(&mut self, room: &str, members: &[String]) -> Vec<ClientMsg> {
        if !members.is_empty() {
            self.room_mut(room).group = members.to_vec();
        }
        if self.my_rooms.iter().any(|r| r == room) {
            return Vec::new();
        }
        self.my_rooms.push(room.to_string());
        if self.joined_as.is_some() && self.welcomed {
            return vec![self.join_frame(room)];
        }
        Vec::new()
    }

    /// The user's group conversations, in the order they came.
    pub fn groups(&self) -> Vec<String> {
        self.my_rooms
            .iter()
            .filter(|r| is_group(r))
            .cloned()
            .collect()
    }

    /// How a group is named on screen: its members other than the user (else "a group").
    pub fn group_label(&self, room: &str) -> String {
        let me = self.name.as_deref().unwrap_or_default();
        let known = self.room_state(room).map(|r| {
            let from = if r.group.is_empty() {
                &r.users
            } else {
                &r.group
            };
            from.iter()
                .filter(|u| *u != me)
                .cloned()
                .collect::<Vec<_>>()
        });
        match known {
            Some(names) if !names.is_empty() => names.join(", "),
            _ => "a group".to_string(),
        }
    }
}

impl Session {
    /// The groups `GET /api/conversations` listed: kept (and joined) like rooms.
    pub(super) fn add_groups(&mut self, listed: &[ConversationSummary]) -> Vec<ClientMsg> {
        listed
            .iter()
            .flat_map(|g| self.add_group(&g.room, &g.members))
            .collect()
    }
}
