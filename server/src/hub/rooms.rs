//! The rooms loaded in memory: a room is loaded when someone joins it and unloaded when its last
//! member leaves, so memory follows who is connected, not how many room names were ever used.
//!
//! Posting needs no loaded room: a message to a room nobody is in is stored and published to
//! no one. Loading reads the room's head from the store *after* the room is in the map, so a
//! message committed meanwhile is either counted in that head or published into the loading
//! room (which holds it until the head is known): nothing falls between.
//!
//! Lock order: the map, then a room. Nothing takes the map while holding a room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::budget::Budget;
use super::room::{Room, WindowLimits};
use crate::store::{Store, StoreError, Stored};

/// See the module docs.
pub struct Rooms {
    map: Mutex<HashMap<Arc<str>, Arc<Room>>>,
    pub budget: Budget,
    /// Messages a window holds at most (`--history`).
    pub window_count: usize,
    /// Rooms loaded at once at most (`--max-rooms`).
    pub max_loaded: usize,
}

impl Rooms {
    pub fn new(window_count: usize, budget_bytes: usize, max_loaded: usize) -> Self {
        Rooms {
            map: Mutex::new(HashMap::new()),
            budget: Budget::new(budget_bytes),
            window_count,
            max_loaded,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Arc<Room>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn limits(&self) -> WindowLimits<'_> {
        WindowLimits {
            count: self.window_count,
            budget: &self.budget,
        }
    }

    /// The loaded room, if any.
    pub fn get(&self, name: &str) -> Option<Arc<Room>> {
        self.lock().get(name).cloned()
    }

    /// Every loaded room.
    pub fn all(&self) -> Vec<Arc<Room>> {
        self.lock().values().cloned().collect()
    }

    /// The room, loaded (its head and epoch read from `store`). The caller locks it and checks
    /// `unloaded` (it may have been unloaded in between: then it calls again).
    pub fn load(&self, name: &str, store: &dyn Store) -> Result<Arc<Room>, StoreError> {
        let room = {
            let mut map = self.lock();
            match map.get(name) {
                Some(room) => room.clone(),
                None => {
                    if map.len() >= self.max_loaded {
                        return Err(StoreError::TooManyRooms(self.max_loaded));
                    }
                    let room = Arc::new(Room::new(name.into()));
                    map.insert(room.name.clone(), room.clone());
                    room
                }
            }
        };
        if !room.lock().loaded {
            // Outside every lock: the store may do I/O.
            match store.room(name) {
                Ok(meta) => room.lock().finish_load(&meta, &self.limits()),
                Err(e) => {
                    self.unload_if_empty(&room);
                    return Err(e);
                }
            }
        }
        Ok(room)
    }

    /// Publishes a stored message to the room's members, if the room is loaded.
    pub fn publish(&self, room: &str, stored: Arc<Stored>) {
        if let Some(r) = self.get(room) {
            let mut st = r.lock();
            if !st.unloaded {
                st.publish(stored, &self.limits());
            }
        }
    }

    /// Unloads `room` if nobody is in it (frees its window).
    pub fn unload_if_empty(&self, room: &Arc<Room>) {
        let mut map = self.lock();
        let mut st = room.lock();
        if !st.members.is_empty() || st.unloaded {
            return;
        }
        st.unloaded = true;
        st.release(&self.budget);
        if map.get(&room.name).is_some_and(|r| Arc::ptr_eq(r, room)) {
            map.remove(&room.name);
        }
    }
}
