//! Who is present in one room: names counted once however many connections share them, and
//! the `presence` frames that tell the other members.
//!
//! With a store shared by several nodes, a name may also be present on other nodes (`remote`,
//! the nodes it is on, kept up to date by the store): a name is present while it is here or on
//! any other node, and `joined`/`left` is announced only when that changes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use banter_protocol::{PresenceState, ServerMsg};

use crate::store::Frame;

/// Present names with their number of connections in the room, in name order (so the first
/// N names of a `joined` cost O(N), not a sort of everyone).
#[derive(Default)]
pub struct Presence {
    counts: BTreeMap<Arc<str>, u32>,
    remote: HashMap<Arc<str>, HashSet<Arc<str>>>,
}

/// What a local arrival or departure changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The name's first connection here arrived, or its last one here left.
    pub here: bool,
    /// The name became present, or absent, in the room as a whole (announce it).
    pub room: bool,
}

impl Presence {
    /// Counts one more connection of `name`.
    pub fn arrive(&mut self, name: &Arc<str>) -> Change {
        let count = self.counts.entry(name.clone()).or_insert(0);
        *count += 1;
        let here = *count == 1;
        Change {
            here,
            room: here && !self.remote.contains_key(name),
        }
    }

    /// Counts one connection of `name` less.
    pub fn depart(&mut self, name: &Arc<str>) -> Change {
        let here = match self.counts.get_mut(name) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                self.counts.remove(name);
                true
            }
            None => false,
        };
        Change {
            here,
            room: here && !self.remote.contains_key(name),
        }
    }

    /// `name` is (`here`) or is no longer present on `node`; `true` when that changes whether
    /// the name is present in the room.
    pub fn remote(&mut self, node: &str, name: &str, here: bool) -> bool {
        let was = self.present(name);
        if here {
            self.remote
                .entry(name.into())
                .or_default()
                .insert(node.into());
        } else if let Some(nodes) = self.remote.get_mut(name) {
            nodes.remove(node);
            if nodes.is_empty() {
                self.remote.remove(name);
            }
        }
        was != self.present(name)
    }

    /// Replaces what other nodes hold with `entries` (`(node, name)`); returns the names whose
    /// presence in the room changed, with their new state.
    pub fn sync_remote(&mut self, entries: &[(String, String)]) -> Vec<(Arc<str>, bool)> {
        let before: HashSet<Arc<str>> = self.remote.keys().cloned().collect();
        let mut remote: HashMap<Arc<str>, HashSet<Arc<str>>> = HashMap::new();
        for (node, name) in entries {
            remote
                .entry(name.as_str().into())
                .or_default()
                .insert(node.as_str().into());
        }
        self.remote = remote;
        let mut changed = Vec::new();
        for name in before.iter().chain(self.remote.keys()) {
            let now = self.present(name);
            let was = before.contains(name) || self.counts.contains_key(name);
            if was != now && !changed.iter().any(|(n, _)| n == name) {
                changed.push((name.clone(), now));
            }
        }
        changed
    }

    /// The names present on this node.
    pub fn here(&self) -> Vec<String> {
        self.counts.keys().map(|n| n.to_string()).collect()
    }

    fn present(&self, name: &str) -> bool {
        self.counts.contains_key(name) || self.remote.contains_key(name)
    }

    /// How many names are present.
    pub fn len(&self) -> usize {
        self.counts.len()
            + self
                .remote
                .keys()
                .filter(|n| !self.counts.contains_key(*n))
                .count()
    }

    /// The first `max` present names (here or on other nodes), sorted, and whether that is
    /// all of them.
    pub fn names(&self, max: usize) -> (Vec<String>, bool) {
        if self.remote.is_empty() {
            let users: Vec<String> = self
                .counts
                .keys()
                .take(max)
                .map(|n| n.to_string())
                .collect();
            let all = users.len() == self.counts.len();
            return (users, all);
        }
        let mut names: Vec<&Arc<str>> = self
            .counts
            .keys()
            .chain(self.remote.keys().filter(|n| !self.counts.contains_key(*n)))
            .collect();
        names.sort_unstable();
        let total = names.len();
        let users: Vec<String> = names.into_iter().take(max).map(|n| n.to_string()).collect();
        let all = users.len() == total;
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
