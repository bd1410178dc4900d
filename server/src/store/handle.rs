//! [`Store`]: the store as the rest of the server holds it: the [`History`], the [`Bus`] when
//! there is a cluster, and the one place where their blocking calls leave the async workers.
//!
//! Every read and every call that may wait (a Redis subscription) runs on tokio's blocking pool,
//! at most [`BLOCKING_CALLS`] at once, and is awaited: neither the HTTP handlers nor the hub's
//! `join` ever block a task that serves sockets. Appends are queued, never blocking, and complete
//! through their callback. Without a bus (one node) the cluster calls do nothing: there is no one
//! to tell.

use std::sync::{Arc, OnceLock, Weak};

use banter_protocol::http::ConversationSummary;
use tokio::sync::Semaphore;

use super::members::{MemoryMembers, RoomAccess, RoomMembers, Standing};
use super::positions::{MemoryPositions, Position, Positions, PositionsDone};
use super::push::{MemoryPush, PushStore};
use super::room_lists::{MemoryRoomLists, RoomLists};
use super::{
    AppendDone, Bus, Entry, Frame, History, NewMessage, Range, RoomMeta, Sink, StoreError,
};

/// Blocking store calls in flight at most (each may hold a database reader or a connection);
/// more wait their turn.
pub const BLOCKING_CALLS: usize = 32;

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    history: Arc<dyn History>,
    bus: Option<Arc<dyn Bus>>,
    positions: Arc<dyn Positions>,
    /// Web Push's key, subscriptions and settings (`store/push.rs`).
    push: Arc<dyn PushStore>,
    members: Arc<dyn RoomMembers>,
    room_lists: Arc<dyn RoomLists>,
    calls: Arc<Semaphore>,
    /// Told of each room a commit changed (the search indexer): see [`Store::on_commit`].
    committed: Arc<OnceLock<CommitHook>>,
}

/// Called with a room's name after a commit that changed it, on the store's completion thread:
/// it must not block.
pub type CommitHook = Arc<dyn Fn(&Arc<str>) + Send + Sync>;

impl Store {
    /// A store of one node (`bus: None`) or of a cluster; its read positions are kept in
    /// memory until [`Store::with_positions`] says where else.
    pub fn new(history: Arc<dyn History>, bus: Option<Arc<dyn Bus>>) -> Self {
        Store {
            history,
            bus,
            positions: Arc::new(MemoryPositions::default()),
            push: Arc::new(MemoryPush::default()),
            members: Arc::new(MemoryMembers::default()),
            room_lists: Arc::new(MemoryRoomLists::default()),
            calls: Arc::new(Semaphore::new(BLOCKING_CALLS)),
            committed: Arc::new(OnceLock::new()),
        }
    }

    /// The same store, keeping read positions in `positions`.
    pub fn with_positions(mut self, positions: Arc<dyn Positions>) -> Self {
        self.positions = positions;
        self
    }

    /// The same store, keeping Web Push's data in `push`.
    pub fn with_push(mut self, push: Arc<dyn PushStore>) -> Self {
        self.push = push;
        self
    }

    /// Runs `f` with the push store on the blocking pool (see [`PushStore`]).
    pub async fn push<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn PushStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let p = self.push.clone();
        self.blocking(move || f(&*p)).await
    }

    /// Whether `name` has a connection on another node of the cluster (see [`Bus::online`]);
    /// `false` on one node.
    pub async fn online_elsewhere(&self, name: &str) -> Result<bool, StoreError> {
        let Some(bus) = self.bus.clone() else {
            return Ok(false);
        };
        let name = name.to_owned();
        self.blocking(move || bus.online(&name)).await
    }

    /// Who is present in `room` on other nodes of the cluster (see [`Bus::present`]); none on
    /// one node.
    pub async fn present_elsewhere(&self, room: &str) -> Result<Vec<String>, StoreError> {
        let Some(bus) = self.bus.clone() else {
            return Ok(Vec::new());
        };
        let room = room.to_owned();
        self.blocking(move || bus.present(&room)).await
    }

    /// The same store, keeping room members in `members` (v1.2).
    pub fn with_members(mut self, members: Arc<dyn RoomMembers>) -> Self {
        self.members = members;
        self
    }

    /// The room members store itself (its calls may block).
    pub fn room_members(&self) -> &Arc<dyn RoomMembers> {
        &self.members
    }

    /// See [`RoomMembers::access`]. A group conversation (`grp-…`) not made yet is private
    /// with nobody in it: no one can plant messages before its group.
    pub async fn access(&self, room: &str) -> Result<RoomAccess, StoreError> {
        let (m, room) = (self.members.clone(), room.to_owned());
        self.blocking(move || Self::access_of(&*m, &room)).await
    }

    /// [`Store::access`] on the calling thread (already on the blocking pool).
    pub fn access_blocking(&self, room: &str) -> Result<RoomAccess, StoreError> {
        Self::access_of(&*self.members, room)
    }

    fn access_of(m: &dyn RoomMembers, room: &str) -> Result<RoomAccess, StoreError> {
        let mut a = m.access(room)?;
        if banter_protocol::is_group(room) {
            a.private = true;
        }
        Ok(a)
    }

    /// See [`RoomMembers::create`].
    pub async fn create_room(&self, room: &str, private: bool) -> Result<bool, StoreError> {
        let (m, room) = (self.members.clone(), room.to_owned());
        self.blocking(move || m.create(&room, private)).await
    }

    /// See [`RoomMembers::set_private`].
    pub async fn set_private(&self, room: &str, private: bool) -> Result<(), StoreError> {
        let (m, room) = (self.members.clone(), room.to_owned());
        self.blocking(move || m.set_private(&room, private)).await
    }

    /// See [`RoomMembers::set_standing`].
    pub async fn set_standing(
        &self,
        room: &str,
        user: &str,
        s: Standing,
    ) -> Result<(), StoreError> {
        let (m, room, user) = (self.members.clone(), room.to_owned(), user.to_owned());
        self.blocking(move || m.set_standing(&room, &user, s)).await
    }

    /// See [`RoomMembers::hidden_from`].
    pub async fn hidden_from(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let (m, user) = (self.members.clone(), user.to_owned());
        self.blocking(move || m.hidden_from(&user)).await
    }

    /// See [`RoomMembers::private_rooms_of`].
    pub async fn private_rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let (m, user) = (self.members.clone(), user.to_owned());
        self.blocking(move || m.private_rooms_of(&user)).await
    }

    /// The same store, keeping users' room lists in `lists`.
    pub fn with_room_lists(mut self, lists: Arc<dyn RoomLists>) -> Self {
        self.room_lists = lists;
        self
    }

    /// The rooms on `user`'s list (see [`RoomLists::rooms_of`]).
    pub async fn rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let (l, user) = (self.room_lists.clone(), user.to_owned());
        self.blocking(move || l.rooms_of(&user)).await
    }

    /// Puts `room` on `user`'s list or takes it off (see [`RoomLists::set_room`]).
    pub async fn set_room(&self, user: &str, room: &str, on: bool) -> Result<(), StoreError> {
        let (l, user, room) = (self.room_lists.clone(), user.to_owned(), room.to_owned());
        self.blocking(move || l.set_room(&user, &room, on)).await
    }

    /// `user`'s read positions (see [`Positions::positions`]).
    pub async fn positions(&self, user: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let (p, user) = (self.positions.clone(), user.to_owned());
        self.blocking(move || p.positions(&user)).await
    }

    /// See [`Positions::save_positions`].
    pub fn save_positions(&self, batch: Vec<Position>, done: PositionsDone) {
        self.positions.save_positions(batch, done);
    }

    /// The history itself (its calls may block).
    pub fn history(&self) -> &Arc<dyn History> {
        &self.history
    }

    /// The bus, for a node of a cluster.
    pub fn bus(&self) -> Option<&Arc<dyn Bus>> {
        self.bus.as_ref()
    }

    /// Runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self.calls.acquire().await.map_err(StoreError::failed)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(StoreError::failed)?
    }

    /// See [`History::append`]. After a commit that stored something, the
    /// [`Store::on_commit`] hook hears of the room, before `done` runs.
    pub fn append(&self, msg: NewMessage, done: AppendDone) {
        let Some(hook) = self.committed.get().cloned() else {
            return self.history.append(msg, done);
        };
        let room = msg.room.clone();
        self.history.append(
            msg,
            Box::new(move |result| {
                if result.as_ref().is_ok_and(|a| !a.duplicate) {
                    hook(&room);
                }
                done(result)
            }),
        );
    }

    /// Sets the hook told of every commit's rooms (once: the search indexer's; a second call
    /// is ignored). In a cluster the bus tells it of other nodes' commits too (see
    /// [`Bus::follow_commits`]).
    pub fn on_commit(&self, hook: CommitHook) {
        if let Some(bus) = &self.bus {
            bus.follow_commits(hook.clone());
        }
        let _ = self.committed.set(hook);
    }

    /// See [`History::room`].
    pub async fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        let (h, room) = (self.history.clone(), room.to_owned());
        self.blocking(move || h.room(&room)).await
    }

    /// The meta of a room the hub is loading; `watch`: the bus watches it first (see
    /// [`Bus::watch`]), so nothing sequenced after the head read is missed.
    pub async fn load(&self, room: &str, watch: bool) -> Result<RoomMeta, StoreError> {
        let (h, room) = (self.history.clone(), room.to_owned());
        let bus = self.bus.clone();
        self.blocking(move || Self::load_with(&*h, bus.as_deref(), &room, watch))
            .await
    }

    /// [`Store::load`] on the calling thread: only for code already on the blocking pool (a
    /// join that reads the store, behind the hub's read gate).
    pub fn load_blocking(&self, room: &str, watch: bool) -> Result<RoomMeta, StoreError> {
        Self::load_with(&*self.history, self.bus.as_deref(), room, watch)
    }

    /// The room's meta; with `watch`, held by the history and watched by the bus first.
    fn load_with(
        h: &dyn History,
        bus: Option<&dyn Bus>,
        room: &str,
        watch: bool,
    ) -> Result<RoomMeta, StoreError> {
        if !watch {
            return h.room(room);
        }
        // On failure the hub unloads the room, which releases and unwatches it.
        h.hold(room)?;
        if let Some(bus) = bus {
            bus.watch(room)?;
        }
        h.room(room)
    }

    /// See [`History::read`].
    pub async fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<Entry>, RoomMeta), StoreError> {
        let (h, room) = (self.history.clone(), room.to_owned());
        self.blocking(move || h.read(&room, range, limit)).await
    }

    /// See [`History::thread`].
    pub async fn thread(
        &self,
        room: &str,
        root: u64,
        after: u64,
        limit: usize,
    ) -> Result<super::Thread, StoreError> {
        let (h, room) = (self.history.clone(), room.to_owned());
        self.blocking(move || h.thread(&room, root, after, limit))
            .await
    }

    /// See [`History::list_named`].
    pub async fn list_named(
        &self,
        names: &[String],
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let (h, names) = (self.history.clone(), names.to_vec());
        self.blocking(move || h.list_named(&names, limit)).await
    }

    /// See [`History::list`].
    pub async fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let h = self.history.clone();
        self.blocking(move || h.list(limit)).await
    }

    /// See [`History::members`].
    pub async fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError> {
        let (h, room) = (self.history.clone(), room.to_owned());
        self.blocking(move || h.members(&room)).await
    }

    /// See [`History::conversations`].
    pub async fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let (h, user) = (self.history.clone(), user.to_owned());
        self.blocking(move || h.conversations(&user, limit)).await
    }

    /// Whether the history and the bus can serve now (for `/readyz`).
    pub fn ready(&self) -> bool {
        self.history.ready() && self.bus.as_ref().is_none_or(|b| b.ready())
    }

    /// See [`Bus::attach`].
    pub fn attach(&self, sink: Weak<dyn Sink>) {
        if let Some(bus) = &self.bus {
            bus.attach(sink);
        }
    }

    /// The hub unloaded `room`: ends what [`Store::load`] began (see [`Bus::unwatch`] and
    /// [`History::release`]).
    pub fn unwatch(&self, room: &str) {
        if let Some(bus) = &self.bus {
            bus.unwatch(room);
        }
        self.history.release(room);
    }

    /// See [`Bus::presence`].
    pub fn presence(&self, room: &str, name: &str, here: bool) {
        if let Some(bus) = &self.bus {
            bus.presence(room, name, here);
        }
    }

    /// `name`'s first connection registered here: returns once direct messages for `name` are
    /// routed to this node (see [`Bus::user`]).
    pub async fn user_arrived(&self, name: &str) {
        if let Some(bus) = self.bus.clone() {
            let name = name.to_owned();
            let routed = self.blocking(move || {
                bus.user(&name, true);
                Ok(())
            });
            if let Err(e) = routed.await {
                tracing::warn!(error = %e, "a user's direct messages may not reach this node");
            }
        }
    }

    /// `name`'s last connection here left (see [`Bus::user`]).
    pub fn user_left(&self, name: &str) {
        if let Some(bus) = &self.bus {
            bus.user(name, false);
        }
    }

    /// See [`Bus::direct`].
    pub fn direct(&self, to: &str, room: &str, frame: &Frame) {
        if let Some(bus) = &self.bus {
            bus.direct(to, room, frame);
        }
    }
}
