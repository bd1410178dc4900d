//! Joining a room: [`Hub::join`] (may read the store: blocking) and [`Hub::join_now`] (only when
//! nothing needs the store), with the replay (see [`super::replay`]) and, with a store shared by
//! several nodes, the catch-up of a node that is behind.

use std::sync::Arc;

use banter_protocol::{ErrorCode, PresenceState, ServerMsg, ValidationError};

use super::conversations::Members;
use super::replay::{self, Fetched};
use super::room::Member;
use super::rooms::LOAD_WAIT;
use super::{Hub, Outbound, Peer, Stored, refusal};
use crate::frame::Frame;
use crate::store::{Range, StoreError};

/// How many times a `join` retries when its room is unloaded under it or its replay is
/// overtaken by new messages, before answering `unavailable`.
const JOIN_ATTEMPTS: usize = 8;

/// What a `join` asks for (see [`Hub::join`]).
struct JoinRequest<'a> {
    peer: &'a Peer,
    room: &'a str,
    name: &'a Arc<str>,
    since: Option<u64>,
    epoch: Option<&'a str>,
    members: Option<&'a Members>,
}

/// Why a `join` stopped short.
enum JoinStop {
    Refused(ValidationError),
    /// It needs the store, and was asked not to read it.
    NeedsStore,
}

impl From<ValidationError> for JoinStop {
    fn from(e: ValidationError) -> Self {
        JoinStop::Refused(e)
    }
}

impl Hub {
    /// Adds `peer` to `room` as `name` (already validated; for a private conversation, checked
    /// to be one of its `members`) and queues `joined`, then, with `since`, the replay (see
    /// [`replay`]); tells the others if the name was not present yet. A connection already in
    /// the room gets a fresh `joined` and no replay.
    /// The member is added in the same critical section that fixes the replay's end from the
    /// hot window, so nothing between the replay and live traffic is lost or doubled. What lies
    /// below the window is read from the store first, outside the lock. Blocking: it may read
    /// the store (see [`Hub::join_now`]).
    pub fn join(
        &self,
        peer: &Peer,
        room: &str,
        name: &Arc<str>,
        since: Option<u64>,
        epoch: Option<&str>,
        members: Option<&Members>,
    ) -> Result<(), ValidationError> {
        let req = JoinRequest {
            peer,
            room,
            name,
            since,
            epoch,
            members,
        };
        let result = match self.join_inner(&req, true) {
            Ok(()) => return Ok(()),
            Err(JoinStop::Refused(e)) => e,
            // Only a join told not to read the store stops for it.
            Err(JoinStop::NeedsStore) => refusal(&StoreError::Busy),
        };
        // A join that loaded the room and then failed (a store read, too many attempts) must
        // not leave it loaded with nobody in it: nothing else would unload it.
        // (A room still loading belongs to the join that creates it.)
        if let Some(r) = self.inner.rooms.get(room)
            && r.lock().loaded
        {
            self.inner.rooms.unload_if_empty(&r, &self.inner.store);
        }
        Err(result)
    }

    /// [`Hub::join`] if it needs nothing from the store (the room is loaded and the replay lies
    /// in its hot window): `Ok(false)` when it does, and then nothing was done.
    pub fn join_now(
        &self,
        peer: &Peer,
        room: &str,
        name: &Arc<str>,
        since: Option<u64>,
        epoch: Option<&str>,
        members: Option<&Members>,
    ) -> Result<bool, ValidationError> {
        let req = JoinRequest {
            peer,
            room,
            name,
            since,
            epoch,
            members,
        };
        match self.join_inner(&req, false) {
            Ok(()) => Ok(true),
            Err(JoinStop::Refused(e)) => Err(e),
            Err(JoinStop::NeedsStore) => Ok(false),
        }
    }

    /// See [`Hub::join`]; without `io`, stops with `NeedsStore` before any change.
    fn join_inner(&self, req: &JoinRequest<'_>, io: bool) -> Result<(), JoinStop> {
        let store = &self.inner.store;
        let cfg = &self.inner.cfg;
        let (peer, name) = (req.peer, req.name);
        let mut fetched = Fetched::default();
        let mut caught_up = false;
        for _ in 0..JOIN_ATTEMPTS {
            let room = match self.inner.rooms.get(req.room) {
                Some(r) if !io => r,
                None if !io => return Err(JoinStop::NeedsStore),
                _ => self
                    .inner
                    .rooms
                    .load_blocking(req.room, store)
                    .map_err(|e| JoinStop::Refused(refusal(&e)))?,
            };
            let mut st = room.lock();
            if st.unloaded {
                continue;
            }
            if !st.loaded {
                // Loading, by the join that created it: only a join that may wait on the store
                // goes on, once that load is done (or failed: then this one loads it).
                if io {
                    drop(room.wait_settled(st, LOAD_WAIT));
                    continue;
                }
                return Err(JoinStop::NeedsStore);
            }
            // v1.2: the room's rule, under the lock that adds the member, so a removal
            // published before this join is seen here and one after it puts this member out.
            self.allow_in(&st.access, name, crate::rooms::access::Act::Read)?;
            let member = st.is_member(peer.id());
            let since = req.since.filter(|_| !member);
            if let Some(since) = since
                && since > st.head
                && req.epoch.is_none_or(|e| *e == *st.epoch)
                && !caught_up
            {
                // The client saw more than this node has published: with a store shared by
                // several nodes, this node may be a moment behind. Bring the room up to date
                // from the store once; what is still missing after that is another life.
                if !io {
                    return Err(JoinStop::NeedsStore);
                }
                let head = st.head;
                drop(st);
                caught_up = true;
                self.catch_up(&room.name, head, since)?;
                continue;
            }
            let plan = replay::plan(&st, since, req.epoch, cfg.max_replay);
            if let Some(plan) = plan {
                fetched.rebase(plan.since);
                let window_start = st.window_start();
                if fetched.wants(window_start) {
                    if !io {
                        return Err(JoinStop::NeedsStore);
                    }
                    let range = (fetched.cursor, window_start - 1);
                    drop(st);
                    fetched.read(store, &room.name, range, cfg.replay_chunk)?;
                    continue;
                }
            }
            if st.conversation.is_none() {
                st.conversation = req.members.cloned();
            }
            let change = if member {
                None
            } else {
                let presence_since = st.batch.mark();
                st.members.push(Member {
                    peer: peer.clone(),
                    name: Some(name.clone()),
                    presence_since,
                });
                Some(st.presence.arrive(name))
            };
            let mut joined = st.joined(&room.name, cfg.joined_max_users, name);
            if let ServerMsg::Joined { read, head, .. } = &mut joined {
                *read = self.read_position(name, &room.name).min(*head);
            }
            let joined: Frame = joined.to_json().into();
            match plan {
                None => {
                    peer.deliver(Outbound::Frame(joined));
                }
                Some(plan) => {
                    let (batch, backlog) =
                        fetched.finish(&st, &room.name, plan, joined, cfg.replay_chunk);
                    peer.deliver(Outbound::Batch(batch));
                    if let Some(b) = backlog {
                        peer.deliver(Outbound::Backlog(b));
                    }
                }
            }
            if change.is_some_and(|c| c.room) {
                self.record(&room, &mut st, name, PresenceState::Joined, Some(peer.id()));
            }
            drop(st);
            if change.is_some_and(|c| c.here) {
                store.presence(&room.name, name, true);
            }
            return Ok(());
        }
        Err(JoinStop::Refused(ValidationError {
            code: ErrorCode::Unavailable,
            message: "the room is too busy to replay right now: retry".into(),
        }))
    }

    /// Publishes what the store holds of `room` in `(head, to]` (idempotent: a node that was
    /// behind catches up; nothing is published twice).
    fn catch_up(&self, room: &str, head: u64, to: u64) -> Result<(), ValidationError> {
        let want = (to - head).min(self.inner.cfg.max_replay.max(1)) as usize;
        let (msgs, meta) = self
            .inner
            .store
            .history()
            .read(room, Range::After(head), want)
            .map_err(|e| refusal(&e))?;
        for m in msgs {
            let stored = Stored::read_at(m, meta.head);
            self.inner.rooms.publish(room, &meta.epoch, stored);
        }
        Ok(())
    }
}
