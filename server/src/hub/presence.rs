//! Who is present in one room: names counted once however many connections share them, and
//! the `presence` frames that tell the other members.

use std::collections::BTreeMap;
use std::sync::Arc;

use banter_protocol::{PresenceState, ServerMsg};

use crate::store::Frame;

/// Present names with their number of connections in the room, in name order (so the first
/// N names of a `joined` cost O(N), not a sort of everyone).
#[derive(Default)]
pub struct Presence {
    counts: BTreeMap<Arc<str>, u32>,
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

    /// The first `max` present names, sorted, and whether that is all of them.
    pub fn names(&self, max: usize) -> (Vec<String>, bool) {
        let users: Vec<String> = self
            .counts
            .keys()
            .take(max)
            .map(|n| n.to_string())
            .collect();
        let all = users.len() == self.counts.len();
        (users, all)
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
