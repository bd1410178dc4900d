//! [`Bus`]: what the nodes of a cluster share besides the history, and [`Sink`], what a bus
//! delivers into (the hub's rooms and users on this node). A single node has no bus.

use std::sync::{Arc, Weak};

use super::{Frame, StoreError, Stored};

/// See the module docs. [`Bus::watch`] and [`Bus::user`] with `here` may block (they wait for
/// a subscription): the server calls them through [`super::Store`], off the async workers. The
/// others must not block: they are called from completions and under the hub's bookkeeping.
pub trait Bus: Send + Sync + 'static {
    /// Gives the bus the hub's rooms, to publish what other nodes sequenced. Called once, by
    /// `Hub::new`.
    fn attach(&self, sink: Weak<dyn Sink>);

    /// The hub is loading `room` (it has local members): from the return on, the bus delivers
    /// to the sink every message of `room` sequenced elsewhere. Called before the room's meta is
    /// read, so a message sequenced after the head it reads is delivered. Calls are counted:
    /// each `watch` is matched by one [`Bus::unwatch`].
    fn watch(&self, room: &str) -> Result<(), StoreError>;

    /// The hub unloaded `room` (see [`Bus::watch`]).
    fn unwatch(&self, room: &str);

    /// `name`'s first connection in `room` arrived on this node (`here`), or its last one left:
    /// the other nodes are told ([`Sink::remote_presence`]).
    fn presence(&self, room: &str, name: &str, here: bool);

    /// `name`'s first connection registered on this node (`here`: returns once direct messages
    /// for `name` are routed here), or its last one left.
    fn user(&self, name: &str, here: bool);

    /// Sends the `direct` frame of a message in conversation `room` to `to`'s connections on
    /// other nodes.
    fn direct(&self, to: &str, room: &str, frame: &Frame);

    /// Whether `name` has a connection on some node (its direct messages are routed there,
    /// see [`Bus::user`]): Web Push is only for users with none. May block.
    fn online(&self, name: &str) -> Result<bool, StoreError>;

    /// Who is present in `room` on any node, by the cluster's own record (a node that died
    /// within the last few seconds may still be counted). May block.
    fn present(&self, room: &str) -> Result<Vec<String>, StoreError>;

    /// Whether the bus is connected now (for `/readyz`).
    fn ready(&self) -> bool;

    /// Tells `hook` of every room a commit changes anywhere in the cluster (other nodes'
    /// commits included), from the bus's own thread; after a gap it cannot fill, it says so
    /// with [`COMMITS_LOST`] (look at every room). For the search index.
    fn follow_commits(&self, hook: super::handle::CommitHook);
}

/// The room name a [`Bus::follow_commits`] hook is told when commits may have been missed.
pub const COMMITS_LOST: &str = "";

/// Where a bus delivers what other nodes did: the hub's rooms.
pub trait Sink: Send + Sync + 'static {
    /// Publishes a stored message of `epoch` to the room's local members (idempotent and
    /// ordered by `seq`; ignored if the room is loaded in another epoch).
    fn publish(&self, room: &str, epoch: &str, stored: Arc<Stored>);

    /// The loaded room's epoch and head; `None` when it is not loaded or still loading.
    fn head(&self, room: &str) -> Option<(Arc<str>, u64)>;

    /// The room's history was lost (a new epoch): closes its members' connections as too slow
    /// (4000: they resume, and are told `complete: false`) and unloads it, so it loads again
    /// in the new epoch. When it was loaded, returns the names that were present on this node
    /// (they left without a [`Bus::presence`]); its watch ends: the bus uncounts it.
    fn reset(&self, room: &str) -> Option<Vec<String>>;

    /// `name` arrived in (`here`) or left `room` on another `node`.
    fn remote_presence(&self, room: &str, node: &str, name: &str, here: bool);

    /// Who is present in `room` on other nodes now, as `(node, name)`: replaces what the room
    /// held (entries of a node that died are gone from it).
    fn sync_presence(&self, room: &str, entries: &[(String, String)]);

    /// The `direct` frame of a message in conversation `room`, stored on another node: to
    /// `to`'s connections here that have not joined `room`.
    fn direct(&self, to: &str, room: &str, frame: Frame);

    /// `user`'s read position in `room` moved to `seq` on another node: to `user`'s
    /// connections here that are in `room` (ignored when it is not ahead).
    fn read(&self, user: &str, room: &str, seq: u64);
}
