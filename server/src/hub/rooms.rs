//! The rooms loaded in memory: a room is loaded when someone joins it and unloaded when its last
//! member leaves, so memory follows who is connected, not how many room names were ever used.
//!
//! Posting needs no loaded room: a message to a room nobody is in is stored and published to
//! no one. Loading reads the room's head from the store *after* the room is in the map, so a
//! message committed meanwhile is either counted in that head or published into the loading
//! room (which holds it until the head is known): nothing falls between.
//!
//! A cluster's bus is told when a room loads and unloads ([`crate::store::Bus::watch`], before
//! the head is read, and [`crate::store::Bus::unwatch`]), and delivers what other nodes
//! sequenced through [`crate::store::Sink`] (`hub::sink`), with the same publish as local posts.
//!
//! Lock order: the map, then a room. Nothing takes the map while holding a room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::budget::Budget;
use super::room::{Room, WindowLimits};
use crate::store::{RoomAccess, RoomMeta, Store, StoreError, Stored};

/// How long a join waits, at most, for another join's load of the same room before it looks
/// again (a Redis watch may take up to 2 s).
pub const LOAD_WAIT: Duration = Duration::from_secs(5);

/// See the module docs.
pub struct Rooms {
    map: Mutex<HashMap<Arc<str>, Arc<Room>>>,
    pub budget: Budget,
    /// Messages a window holds at most (`--history`).
    pub window_count: usize,
    /// Rooms loaded at once at most (`--max-rooms`).
    pub max_loaded: usize,
    /// Told when a moderation entry put a name out of a room here (its presence on this node
    /// ends: other nodes see it leave).
    store: Store,
}

impl Rooms {
    pub fn new(window_count: usize, budget_bytes: usize, max_loaded: usize, store: Store) -> Self {
        Rooms {
            store,
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

    /// The connections that joined `room` here (none when it is not loaded).
    pub fn member_ids(&self, name: &str) -> Vec<u64> {
        self.get(name).map_or_else(Vec::new, |r| {
            r.lock().members.iter().map(|m| m.peer.id()).collect()
        })
    }

    /// How many rooms are loaded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Every loaded room.
    pub fn all(&self) -> Vec<Arc<Room>> {
        self.lock().values().cloned().collect()
    }

    /// The room, loaded (its head and epoch read from `store`). The caller locks it and checks
    /// `unloaded` (it may have been unloaded in between: then it calls again).
    pub async fn load(&self, name: &str, store: &Store) -> Result<Arc<Room>, StoreError> {
        let (room, created) = self.claim(name)?;
        if created {
            // Outside every lock, off the runtime: the store may do I/O. Watch first, then read
            // the head. Only the creator reads it, so the room and the store agree on its epoch.
            let meta = store.load(name, true).await;
            // v1.2: who may do what, read after the watch like the head (a moderation entry
            // sequenced meanwhile is folded again on publish: idempotent).
            let meta = match meta {
                Ok(m) => store.access(name).await.map(|a| (m, a)),
                Err(e) => Err(e),
            };
            self.finish(&room, meta, store)?;
            return Ok(room);
        }
        // Another loader's: wait until it is done (or failed: then the caller loads it again).
        let deadline = tokio::time::Instant::now() + LOAD_WAIT;
        loop {
            {
                let st = room.lock();
                if st.loaded || st.unloaded {
                    return Ok(room.clone());
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::Busy);
            }
            tokio::time::sleep(Duration::from_millis(5)).await; // polling interval
        }
    }

    /// [`Rooms::load`] on the calling thread: only for code already on the blocking pool (a
    /// join that reads the store, behind the hub's read gate). Returns a room another join is
    /// still loading as it is: the caller waits with [`Room::wait_settled`].
    pub fn load_blocking(&self, name: &str, store: &Store) -> Result<Arc<Room>, StoreError> {
        let (room, created) = self.claim(name)?;
        if created {
            let meta = store
                .load_blocking(name, true)
                .and_then(|m| Ok((m, store.access_blocking(name)?)));
            self.finish(&room, meta, store)?;
        }
        Ok(room)
    }

    /// The room in the map, made (`true`) if it was not there.
    fn claim(&self, name: &str) -> Result<(Arc<Room>, bool), StoreError> {
        let mut map = self.lock();
        if let Some(room) = map.get(name) {
            return Ok((room.clone(), false));
        }
        if map.len() >= self.max_loaded {
            return Err(StoreError::TooManyRooms(self.max_loaded));
        }
        let room = Arc::new(Room::new(name.into()));
        map.insert(room.name.clone(), room.clone());
        Ok((room, true))
    }

    /// Applies what the store said of a loading room; on failure, unloads it if it is empty.
    fn finish(
        &self,
        room: &Arc<Room>,
        meta: Result<(RoomMeta, RoomAccess), StoreError>,
        store: &Store,
    ) -> Result<(), StoreError> {
        match meta {
            Ok((meta, access)) => {
                room.lock().finish_load(&meta, access, &self.limits());
                room.settle();
                Ok(())
            }
            Err(e) => {
                self.unload_if_empty(room, store);
                Err(e)
            }
        }
    }

    /// Publishes a stored message of `epoch` to the room's members, if the room is loaded
    /// (or loading) in that epoch.
    pub fn publish(&self, room: &str, epoch: &str, stored: Arc<Stored>) {
        if let Some(r) = self.get(room) {
            let departed = {
                let mut st = r.lock();
                if !st.unloaded && (!st.loaded || *st.epoch == *epoch) {
                    st.publish(stored, &self.limits());
                }
                std::mem::take(&mut st.departed)
            };
            // v1.2: names a removal or ban put out of the room here (outside the room's lock;
            // the bus only queues it). A room this empties stays loaded until its next leave:
            // unloading here could re-enter a store that completes under its own lock.
            for name in departed {
                self.store.presence(room, &name, false);
            }
        }
    }

    /// Unloads `room` if nobody is in it (frees its window; the store stops watching it).
    pub fn unload_if_empty(&self, room: &Arc<Room>, store: &Store) {
        {
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
        room.settle();
        store.unwatch(&room.name);
    }
}

/// What a store shared by several nodes does to the rooms (see `hub::sink`).
impl Rooms {
    /// See [`crate::store::Sink::head`].
    pub fn head(&self, room: &str) -> Option<(Arc<str>, u64)> {
        let r = self.get(room)?;
        let st = r.lock();
        (st.loaded && !st.unloaded).then(|| (st.epoch.clone(), st.head))
    }

    /// See [`crate::store::Sink::remote_presence`].
    pub fn remote_presence(&self, room: &str, node: &str, name: &str, here: bool) {
        let Some(r) = self.get(room) else { return };
        let mut st = r.lock();
        if !st.unloaded && st.presence.remote(node, name, here) {
            st.announce(room, name, presence_state(here), None);
        }
    }

    /// See [`crate::store::Sink::sync_presence`].
    pub fn sync_presence(&self, room: &str, entries: &[(String, String)]) {
        let Some(r) = self.get(room) else { return };
        let mut st = r.lock();
        if st.unloaded {
            return;
        }
        for (name, here) in st.presence.sync_remote(entries) {
            st.announce(room, &name, presence_state(here), None);
        }
    }

    /// See [`crate::store::Sink::reset`].
    pub fn reset(&self, room: &str) -> Option<Vec<String>> {
        let r = self.get(room)?;
        let mut map = self.lock();
        let mut st = r.lock();
        if st.unloaded {
            return None;
        }
        tracing::warn!(
            room,
            members = st.members.len(),
            "the room's history was lost: a new epoch"
        );
        for m in st.members.drain(..) {
            m.peer.outbox().kick();
        }
        st.unloaded = true;
        st.release(&self.budget);
        if map.get(room).is_some_and(|m| Arc::ptr_eq(m, &r)) {
            map.remove(room);
        }
        r.settle();
        Some(st.presence.here())
    }
}

fn presence_state(here: bool) -> banter_protocol::PresenceState {
    if here {
        banter_protocol::PresenceState::Joined
    } else {
        banter_protocol::PresenceState::Left
    }
}
