//! Who is present in one room: names counted once however many connections share them, and
//! the `presence` frames that tell the other members.

use std::collections::HashMap;
use std::sync::Arc;

use banter_protocol::{PresenceState, ServerMsg};

use crate::store::Frame;

/// Present names with their number of connections in the room.
#[derive(Default)]
pub struct Presence {
    counts: HashMap<Arc<str>, u32>,
}

impl Presence {
    /// Counts one more connection of `name`; `true` when the name was not present before.
    pub fn arrive(&mut self, name: &Arc<str>) -> bool {
        let count = self.counts.entry(name.clone()).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Counts one connection of `name` less; `true` when the name is no longer present.
    pub fn depart(&mut self, name: &Arc<str>) -> bool {
        match self.counts.get_mut(name) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                self.counts.remove(name);
                true
            }
            None => false,
        }
    }

    /// How many names are present.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// The present names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut users: Vec<String> = self.counts.keys().map(|n| n.to_string()).collect();
        users.sort_unstable();
        users
    }
}

/// The `presence` frame for `user` in `room`.
pub fn frame(room: &str, user: &str, state: PresenceState) -> Frame {
    ServerMsg::Presence {
        room: room.to_owned(),
        user: user.to_owned(),
        state,
    }
    .to_json()
    .into()
}
