//! A connection's `join`, `leave`, and leaving the rooms a renewed token no longer allows.
//!
//! A `join` is checked at once ([`Conn::join_request`]: the name, the room or conversation, the
//! limits per connection and per address) and then carried out by [`Conn::join`], which the
//! connection's task awaits before it reads the next frame (so one connection has one join in
//! flight). A join that needs nothing from the store (the room is loaded and the replay lies in
//! its hot window) runs at once; any other waits for a pass of the hub's
//! [`ReadGate`](crate::limit::reads::ReadGate) and runs on tokio's blocking pool: store reads
//! never run on the threads that serve sockets. A connection already in the room gets a fresh
//! `joined` and no replay.

use std::sync::Arc;

use banter_protocol::{ErrorCode, ValidationError};
use tokio_util::sync::CancellationToken;

use super::conn::{Conn, JoinRequest, Membership, Outcome};
use super::end::End;
use crate::auth::Claims;
use crate::hub::refusal;
use crate::store::StoreError;

impl Conn {
    /// Checks a `join` and counts its room against the connection's and the address's limits.
    pub(super) fn join_request(
        &mut self,
        room: &str,
        name: &str,
        since: Option<u64>,
        epoch: Option<String>,
        with: Option<&str>,
    ) -> Result<JoinRequest, ValidationError> {
        if with.is_none() {
            self.hub.check_room(room)?;
        }
        // With a token, the name is the token's user: `name` may be left out.
        let name = match (&self.claims, name.trim()) {
            (Some(c), "") => &*c.user,
            _ => self.hub.limits().name(name)?,
        };
        if let Some(current) = &self.name
            && &**current != name
        {
            return Err(ValidationError {
                code: ErrorCode::NameTaken,
                message: format!("this connection already chats as `{current}`"),
            });
        }
        let (room, members) = self.target(room, with, name)?;
        let name: std::sync::Arc<str> = self.name.clone().unwrap_or_else(|| name.into());
        self.forget_if_removed(&room);
        let repeated = self.rooms.contains(&room);
        if !repeated && self.rooms.len() >= self.settings.max_rooms {
            return Err(ValidationError {
                code: ErrorCode::InvalidRoom,
                message: format!(
                    "one connection may be in at most {} rooms",
                    self.settings.max_rooms
                ),
            });
        }
        if !repeated && !self.settings.rooms_per_ip.enter(self.ip, &room) {
            return Err(ValidationError {
                code: ErrorCode::InvalidRoom,
                message: format!(
                    "the connections of one address may be in at most {} rooms",
                    self.settings.rooms_per_ip.max()
                ),
            });
        }
        Ok(JoinRequest {
            room,
            name,
            since: since.filter(|_| !repeated),
            epoch,
            members,
            repeated,
        })
    }

    /// Carries out a checked `join` (see the module docs). `Err` ends the connection (the
    /// server shuts down, or the connection was kicked while it waited).
    pub(super) async fn join(
        &mut self,
        req: Box<JoinRequest>,
        shutdown: &CancellationToken,
    ) -> Result<Outcome, End> {
        let was_named = self.name.is_some();
        let (room, repeated, name) = (req.room.clone(), req.repeated, req.name.clone());
        // `joined.read` comes from this node's copy of the user's read positions.
        self.hub.load_positions(&name).await;
        let result = self.enter(*req, shutdown).await;
        if !matches!(result, Ok(Ok(_))) {
            if !repeated {
                self.settings.rooms_per_ip.leave(self.ip, &room);
            }
            if !was_named {
                self.hub.forget_positions(&name);
            }
        }
        match result? {
            Ok(name) => {
                if self.name.is_none() {
                    self.hub.register_user(&name, &self.peer).await;
                    self.name = Some(name);
                }
                if !repeated {
                    self.rooms.push(room);
                }
                let open = self.claims.is_none();
                Ok(if !was_named && open {
                    Outcome::Hello
                } else {
                    Outcome::Quiet
                })
            }
            Err(e) => {
                self.error(e.code, e.message, None);
                Ok(Outcome::Quiet)
            }
        }
    }

    /// The hub's join, at once when it can be, else off the runtime after a read pass.
    async fn enter(
        &self,
        req: JoinRequest,
        shutdown: &CancellationToken,
    ) -> Result<Result<Arc<str>, ValidationError>, End> {
        let members = match &req.members {
            Membership::Room => Some(None),
            Membership::Known(m) => Some(Some(m.clone())),
            Membership::Lookup => match self.hub.member_now(&req.room, &req.name) {
                Some(Ok(m)) => Some(Some(m)),
                Some(Err(e)) => return Ok(Err(e)),
                None => None,
            },
        };
        if let Some(members) = &members {
            let done = self.hub.join_now(
                &self.peer,
                &req.room,
                &req.name,
                req.since,
                req.epoch.as_deref(),
                members.as_ref(),
            );
            match done {
                Ok(true) => return Ok(Ok(req.name)),
                Ok(false) => {}
                Err(e) => return Ok(Err(e)),
            }
        }
        let reads = self.hub.reads();
        let pass = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return Err(End::Shutdown),
            _ = self.peer.outbox().kicked() => return Err(End::TooSlow),
            pass = reads.enter(&req.room, true) => pass,
        };
        let Ok(_pass) = pass else {
            return Ok(Err(ValidationError {
                code: ErrorCode::Unavailable,
                message: "too many joins are waiting to read history: retry shortly".into(),
            }));
        };
        let members = match members {
            Some(m) => m,
            None => match self.hub.member(&req.room, &req.name).await {
                Ok(m) => Some(m),
                Err(e) => return Ok(Err(e)),
            },
        };
        let (hub, peer) = (self.hub.clone(), self.peer.clone());
        // Not cancelled once started: the hub may add the member, which the connection must
        // then know to leave.
        let joined = tokio::task::spawn_blocking(move || {
            hub.join(
                &peer,
                &req.room,
                &req.name,
                req.since,
                req.epoch.as_deref(),
                members.as_ref(),
            )
            .map(|()| req.name)
        })
        .await;
        Ok(joined.unwrap_or_else(|_| Err(refusal(&StoreError::Busy))))
    }

    /// v1.2: forgets `room` here when the hub put this connection out of it (a removal or a
    /// ban: it got `removed`), so that joining it again is a fresh join, with its replay.
    fn forget_if_removed(&mut self, room: &str) {
        if let Some(at) = self.rooms.iter().position(|r| r == room)
            && !self.hub.is_member(self.peer.id(), room)
        {
            self.leave_room(at);
        }
    }

    /// Leaves the room at `at` among the connection's rooms.
    pub(super) fn leave_room(&mut self, at: usize) {
        let room = self.rooms.swap_remove(at);
        self.settings.rooms_per_ip.leave(self.ip, &room);
        self.hub.leave(self.peer.id(), &room);
    }

    /// Token mode: leaves every room that `claims` (a renewed token) does not allow, saying so:
    /// what the token may not read stops reaching the connection, and `send` there is refused.
    pub(super) fn leave_forbidden(&mut self, claims: &Claims) {
        let mut at = 0;
        while at < self.rooms.len() {
            let room = &self.rooms[at];
            if banter_protocol::is_conversation(room) || claims.allows_room(room) {
                at += 1;
                continue;
            }
            let message = format!("your token no longer allows the room `{room}`: you left it");
            self.leave_room(at);
            self.error(ErrorCode::Forbidden, message, None);
        }
    }
}
