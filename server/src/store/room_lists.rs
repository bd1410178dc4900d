//! [`RoomLists`]: the rooms each user is in (the rooms on their sidebar), kept by the store so
//! that every device shows the same list, after a reload too, on every node. On an open server
//! a list belongs to the name, as read positions and everything else do.
//!
//! A list keeps the order the rooms were put on it. Read positions cannot stand in for it: a
//! user may be in a room they never read, and keeps a position in a room they left.
//! [`MemoryRoomLists`] keeps lists in this process only: the memory store's, and the default of
//! a [`super::Store`] built without one.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::StoreError;

/// See the module docs. Both calls may block (disk, network): the server makes them through
/// [`super::Store`], off the async workers.
pub trait RoomLists: Send + Sync + 'static {
    /// The rooms on `user`'s list, in the order they were put there.
    fn rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError>;

    /// Puts `room` at the end of `user`'s list (`on: true`; nothing when it is there already)
    /// or takes it off (`on: false`). Returns once stored.
    fn set_room(&self, user: &str, room: &str, on: bool) -> Result<(), StoreError>;
}

/// The most list entries a [`MemoryRoomLists`] keeps (all users together): past it, a room is
/// not added ([`StoreError::Full`]).
pub const MAX_LIST_ENTRIES: usize = 1_000_000;

/// Lists kept in memory, lost when the process stops.
#[derive(Default)]
pub struct MemoryRoomLists {
    by_user: Mutex<HashMap<String, Vec<String>>>,
}

impl RoomLists for MemoryRoomLists {
    fn rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let all = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(all.get(user).cloned().unwrap_or_default())
    }

    fn set_room(&self, user: &str, room: &str, on: bool) -> Result<(), StoreError> {
        let mut all = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if !on {
            if let Some(rooms) = all.get_mut(user) {
                rooms.retain(|r| r != room);
                if rooms.is_empty() {
                    all.remove(user);
                }
            }
            return Ok(());
        }
        if all.get(user).is_some_and(|r| r.iter().any(|r| r == room)) {
            return Ok(());
        }
        if all.values().map(Vec::len).sum::<usize>() >= MAX_LIST_ENTRIES {
            return Err(StoreError::Full);
        }
        all.entry(user.to_owned())
            .or_default()
            .push(room.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_keeps_its_order_and_each_room_once() {
        let l = MemoryRoomLists::default();
        for room in ["ops", "lobby", "ops", "design"] {
            l.set_room("ada", room, true).unwrap();
        }
        l.set_room("ada", "lobby", false).unwrap();
        l.set_room("bob", "ops", true).unwrap();
        assert_eq!(l.rooms_of("ada").unwrap(), ["ops", "design"]);
        assert_eq!(l.rooms_of("bob").unwrap(), ["ops"]);
        assert!(l.rooms_of("cy").unwrap().is_empty());
    }
}
