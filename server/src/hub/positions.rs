//! Read positions on this node: where each connected user has read up to in each room.
//!
//! A `read` frame moves the user's position in a room it joined, forward only and never past
//! the room's head; the move is pushed at once as a `read` frame to the user's other connections
//! here that are in that room, and queued to be saved. Saves are coalesced (the latest per user
//! and room) and handed to the store in one batch at most every [`FLUSH_EVERY`], off the path of
//! posting; a store shared by several nodes tells the others, whose [`crate::store::Sink`] moves
//! the position there ([`ReadPositions::advance`] with [`Origin::Remote`]).
//!
//! What a node knows of a user's positions is loaded from the store when the user's first
//! connection joins a room here (`joined.read` comes from it), and forgotten when their last
//! connection here leaves.
//!
//! Invariant: a `read` frame only reaches connections of the same user that are in its room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use banter_protocol::ServerMsg;
use tokio::sync::oneshot;

use super::Hub;
use super::rooms::Rooms;
use super::users::Users;
use crate::store::{Frame, Position, StoreError};

/// How long moves are gathered before they are saved in one batch.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Where a move comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `read` frame on the connection with this id, here: it is saved.
    Local(u64),
    /// Another node, which saved it.
    Remote,
}

/// See the module docs.
pub struct ReadPositions {
    users: Arc<Users>,
    rooms: Arc<Rooms>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The positions of the users connected here, by user, then room.
    known: HashMap<Arc<str>, HashMap<String, u64>>,
    /// Moves not handed to the store yet: the latest per user and room.
    pending: HashMap<(Arc<str>, String), u64>,
    /// A flush is scheduled.
    scheduled: bool,
}

impl ReadPositions {
    pub fn new(users: Arc<Users>, rooms: Arc<Rooms>) -> Self {
        ReadPositions {
            users,
            rooms,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `user`'s position in `room` as known here (`0` when none).
    pub fn get(&self, user: &str, room: &str) -> u64 {
        let st = self.lock();
        let known = st.known.get(user).and_then(|r| r.get(room)).copied();
        let pending = st.pending.get(&(Arc::from(user), room.to_owned())).copied();
        known.max(pending).unwrap_or(0)
    }

    /// Whether `user`'s positions were loaded here.
    pub fn is_loaded(&self, user: &str) -> bool {
        self.lock().known.contains_key(user)
    }

    /// Keeps `loaded` (read from the store) as `user`'s positions, the highest of each.
    pub fn install(&self, user: &Arc<str>, loaded: Vec<(String, u64)>) {
        let mut st = self.lock();
        let rooms = st.known.entry(user.clone()).or_default();
        for (room, seq) in loaded {
            let at = rooms.entry(room).or_insert(0);
            *at = (*at).max(seq);
        }
    }

    /// Forgets `user`'s positions here unless they still have a connection here.
    pub fn forget_unless_connected(&self, user: &str) {
        if !self.users.contains(user) {
            self.lock().known.remove(user);
        }
    }

    /// Moves `user`'s position in `room` to `seq` if that is ahead: tells their connections
    /// in `room` here (but the one it came from) and, when it came from here, queues it to be
    /// saved. Returns whether a save was queued.
    pub fn advance(&self, user: &Arc<str>, room: &str, seq: u64, from: Origin) -> bool {
        {
            let mut st = self.lock();
            let key = (user.clone(), room.to_owned());
            let known = st.known.get(user).and_then(|r| r.get(room)).copied();
            let pending = st.pending.get(&key).copied();
            if known.max(pending).is_some_and(|at| at >= seq) {
                return false;
            }
            match st.known.get_mut(user) {
                Some(rooms) => {
                    rooms.insert(room.to_owned(), seq);
                }
                // Nobody here loaded this user's positions: nobody here to tell.
                None if from == Origin::Remote => return false,
                None => {}
            }
            if from != Origin::Remote {
                st.pending.insert(key, seq);
            }
        }
        let frame: Frame = ServerMsg::Read {
            room: room.to_owned(),
            seq,
        }
        .to_json()
        .into();
        let joined = self.rooms.member_ids(room);
        let origin = match from {
            Origin::Local(id) => Some(id),
            Origin::Remote => None,
        };
        self.users.deliver_except(user, &frame, |id| {
            Some(id) == origin || !joined.contains(&id)
        });
        from != Origin::Remote
    }

    /// Marks a flush scheduled; `false` when one already was.
    fn schedule(&self) -> bool {
        !std::mem::replace(&mut self.lock().scheduled, true)
    }

    /// Takes every pending move.
    fn take(&self) -> Vec<Position> {
        let mut st = self.lock();
        st.scheduled = false;
        st.pending
            .drain()
            .map(|((user, room), seq)| Position { user, room, seq })
            .collect()
    }

    /// Puts back moves the store could not save (a later move of the same room wins).
    fn requeue(&self, batch: Vec<Position>) {
        let mut st = self.lock();
        for p in batch {
            let at = st.pending.entry((p.user, p.room)).or_insert(0);
            *at = (*at).max(p.seq);
        }
    }
}

impl Hub {
    /// `user` has read `room` up to `seq` (a `read` frame from connection `origin`, in `room`):
    /// capped at the room's head; see [`ReadPositions::advance`].
    pub fn read_to(&self, user: &Arc<str>, room: &str, seq: u64, origin: u64) {
        let head = self.inner.rooms.head(room).map_or(0, |(_, head)| head);
        let seq = seq.min(head);
        if seq == 0 {
            return;
        }
        let positions = &self.inner.positions;
        if positions.advance(user, room, seq, Origin::Local(origin)) && positions.schedule() {
            let hub = self.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(async move {
                        tokio::time::sleep(FLUSH_EVERY).await;
                        drop(hub.flush_positions());
                    });
                }
                Err(_) => drop(hub.flush_positions()),
            }
        }
    }

    /// `user`'s position in `room` as this node knows it (`0` when none).
    pub fn read_position(&self, user: &str, room: &str) -> u64 {
        self.inner.positions.get(user, room)
    }

    /// Loads `user`'s positions from the store unless this node has them (before a join, so
    /// that `joined.read` is right). A store that cannot answer leaves them unknown (`0`).
    pub async fn load_positions(&self, user: &Arc<str>) {
        let positions = &self.inner.positions;
        if positions.is_loaded(user) {
            return;
        }
        match self.inner.store.positions(user).await {
            Ok(loaded) => positions.install(user, loaded),
            Err(e) => tracing::warn!(error = %e, "read positions could not be loaded"),
        }
    }

    /// Forgets `user`'s positions here unless they have a connection here (a first join that
    /// failed).
    pub fn forget_positions(&self, user: &str) {
        self.inner.positions.forget_unless_connected(user);
    }

    /// Hands every pending move to the store now; the answer comes once they are stored. Moves
    /// the store could not take (busy, unavailable) are kept for the next flush.
    pub fn flush_positions(&self) -> oneshot::Receiver<Result<(), StoreError>> {
        let (tx, rx) = oneshot::channel();
        let batch = self.inner.positions.take();
        if batch.is_empty() {
            let _ = tx.send(Ok(()));
            return rx;
        }
        let positions = self.inner.positions.clone();
        let again = batch.clone();
        self.inner.store.save_positions(
            batch,
            Box::new(move |result| {
                if let Err(e) = &result {
                    tracing::warn!(error = %e, moves = again.len(), "read positions not saved");
                    if !matches!(e, StoreError::Full) {
                        positions.requeue(again);
                    }
                }
                let _ = tx.send(result);
            }),
        );
        rx
    }
}
