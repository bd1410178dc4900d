//! [`RoomMembers`]: who may do what in a room (v1.2, private rooms and moderation): whether a
//! room is private, and each user's stored standing there (a role, muted, banned). Public rooms
//! keep only their owners, moderators, the muted and the banned; private rooms (and group
//! conversations) every member. The rule that reads this is `crate::rooms::access`; the
//! moderation entries that record each change in the room's sequence are appended by
//! `crate::rooms` right after the standing is stored.
//!
//! [`MemoryMembers`] keeps them in this process: the memory store's (and the default of a
//! [`super::Store`] built without one). SQLite: `sqlite/members.rs` (tables `room_access` and
//! `room_members`, schema 4); Redis: `redis/members.rs` (a hash per room on its shard).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use banter_protocol::RoomRole;

use super::StoreError;

/// A user's stored standing in one room (the default: none at all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Standing {
    /// A member's role (private rooms: only members with one may enter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoomRole>,
    /// May read but not post.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
    /// Kept out (public rooms too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub banned: bool,
}

impl Standing {
    pub fn is_none(&self) -> bool {
        *self == Standing::default()
    }
}

/// What a room's access is made of: whether it is private, and the users with a standing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomAccess {
    pub private: bool,
    /// Whether the room was created (`POST /api/rooms`, a group conversation): a record exists.
    pub created: bool,
    pub users: BTreeMap<String, Standing>,
}

/// See the module docs. Every method may block (disk, network): the server calls them through
/// [`super::Store`], off the async workers.
pub trait RoomMembers: Send + Sync + 'static {
    /// `room`'s access (the default for a room never created nor moderated).
    fn access(&self, room: &str) -> Result<RoomAccess, StoreError>;

    /// Records `room` as created, private or not; `false` when it already was.
    fn create(&self, room: &str, private: bool) -> Result<bool, StoreError>;

    /// Makes `room` private or public (recording it as created if it was not).
    fn set_private(&self, room: &str, private: bool) -> Result<(), StoreError>;

    /// Stores `user`'s standing in `room` (the default standing forgets them).
    fn set_standing(&self, room: &str, user: &str, s: Standing) -> Result<(), StoreError>;

    /// The rooms `user` may not read that others may: every private room in which they have no
    /// role, and every room they are banned from (search and listings filter by it).
    fn hidden_from(&self, user: &str) -> Result<Vec<String>, StoreError>;

    /// The private rooms (and group conversations) in which `user` has a role.
    fn private_rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError>;
}

/// What `hidden_from` computes from every room's access, for stores that hold them in memory.
pub fn hidden<'a>(
    rooms: impl Iterator<Item = (&'a String, &'a RoomAccess)>,
    user: &str,
) -> Vec<String> {
    rooms
        .filter(|(_, a)| {
            let s = a.users.get(user).copied().unwrap_or_default();
            s.banned || (a.private && s.role.is_none())
        })
        .map(|(r, _)| r.clone())
        .collect()
}

/// See the module docs.
#[derive(Default)]
pub struct MemoryMembers {
    rooms: Mutex<HashMap<String, RoomAccess>>,
}

impl RoomMembers for MemoryMembers {
    fn access(&self, room: &str) -> Result<RoomAccess, StoreError> {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(rooms.get(room).cloned().unwrap_or_default())
    }

    fn create(&self, room: &str, private: bool) -> Result<bool, StoreError> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let a = rooms.entry(room.to_owned()).or_default();
        if a.created {
            return Ok(false);
        }
        a.created = true;
        a.private = private;
        Ok(true)
    }

    fn set_private(&self, room: &str, private: bool) -> Result<(), StoreError> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let a = rooms.entry(room.to_owned()).or_default();
        a.created = true;
        a.private = private;
        Ok(())
    }

    fn set_standing(&self, room: &str, user: &str, s: Standing) -> Result<(), StoreError> {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let a = rooms.entry(room.to_owned()).or_default();
        if s.is_none() {
            a.users.remove(user);
        } else {
            a.users.insert(user.to_owned(), s);
        }
        Ok(())
    }

    fn hidden_from(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(hidden(rooms.iter(), user))
    }

    fn private_rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let mine: BTreeSet<String> = rooms
            .iter()
            .filter(|(_, a)| a.private && a.users.get(user).is_some_and(|s| s.role.is_some()))
            .map(|(r, _)| r.clone())
            .collect();
        Ok(mine.into_iter().collect())
    }
}
