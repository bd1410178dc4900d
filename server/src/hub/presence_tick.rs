//! How presence flows from events to clients: `join`/`leave`/`typing` record a change in the
//! room's batch ([`super::presence_batch`]) and list the room as dirty; one server-wide task
//! calls [`Hub::flush_presence`] every `--presence-interval` to send what the dirty rooms
//! recorded. [`Hub::close`] stops recording, so a shutdown is no presence storm.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use banter_protocol::PresenceState;

use super::Hub;
use super::room::{Room, RoomState};

impl Hub {
    /// Tells the other members of `room` that `name` is typing (at the next presence tick).
    pub fn typing(&self, peer_id: u64, room: &str, name: &Arc<str>) {
        if let Some(room) = self.inner.rooms.get(room) {
            let mut st = room.lock();
            self.record(&room, &mut st, name, PresenceState::Typing, Some(peer_id));
        }
    }

    /// Records a presence change for the next tick and lists the room as dirty.
    pub(super) fn record(
        &self,
        room: &Arc<Room>,
        st: &mut RoomState,
        name: &Arc<str>,
        state: PresenceState,
        except: Option<u64>,
    ) {
        if self.inner.closing.load(Ordering::Relaxed) {
            return;
        }
        let batch = self.inner.cfg.presence_batch.max(1);
        match (state, except) {
            (PresenceState::Typing, Some(from)) => st.batch.record_typing(name, from, batch),
            (PresenceState::Typing, None) => return,
            _ => st.batch.record(name, state, except, batch * 8),
        }
        if !st.dirty {
            st.dirty = true;
            self.inner
                .dirty
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(room.clone());
        }
    }

    /// Sends the presence recorded since the last tick: at most `--presence-batch` frames per
    /// room, one outbox entry per member. Called by one server-wide task every
    /// `--presence-interval`; its cost is O(members of dirty rooms), whatever happened since.
    pub fn flush_presence(&self) {
        let rooms = std::mem::take(
            &mut *self
                .inner
                .dirty
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut still = Vec::new();
        for room in rooms {
            let mut st = room.lock();
            if st.flush_presence(&room.name, self.inner.cfg.presence_batch.max(1)) {
                drop(st);
                still.push(room);
            } else {
                st.dirty = false;
            }
        }
        if !still.is_empty() {
            self.inner
                .dirty
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(still);
        }
    }

    /// Shutdown: stop recording presence, so closing every connection is O(connections).
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::Relaxed);
    }
}
