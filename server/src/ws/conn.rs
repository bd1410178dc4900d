//! A connection's own state (who it is, its rooms, its rate limiter) and the dispatcher of its
//! frames: rate limit first, then decode, then the hub.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Message;
use banter_protocol::{
    AuthMode, ClassicMsg, ClientMsg, DEFAULT_ROOM, DirectMessage, ErrorCode, ServerMsg,
    ValidationError,
};
use governor::{DefaultDirectRateLimiter, RateLimiter};

use super::end::End;
use super::{ConnSettings, Mode};
use crate::auth::{AuthError, Claims};
use crate::hub::conversations::Members;
use crate::hub::{Appended, Hub, Outbound, Peer, refusal};
use crate::limit::echo;
use crate::metrics::{self};
use crate::store::StoreError;

/// A connection's own state: who it is and where it is.
pub(super) struct Conn {
    pub(super) hub: Hub,
    pub(super) peer: Peer,
    pub(super) mode: Mode,
    /// Fixed by the first `join` (open mode) or by the token (token mode): one connection is
    /// one user.
    pub(super) name: Option<Arc<str>>,
    /// Token mode: the verified token, once `auth` was accepted.
    pub(super) claims: Option<Claims>,
    pub(super) rooms: Vec<String>,
    pub(super) limiter: Option<Box<DefaultDirectRateLimiter>>,
    pub(super) settings: Arc<ConnSettings>,
    /// The client's address, for the limits per address.
    pub(super) ip: Option<IpAddr>,
}

/// A checked `join`, to be carried out.
pub(crate) struct JoinRequest {
    pub(super) room: String,
    pub(super) name: Arc<str>,
    pub(super) since: Option<u64>,
    pub(super) epoch: Option<String>,
    pub(super) members: Membership,
    /// The connection is in the room already.
    pub(super) repeated: bool,
}

/// Whose room it is.
pub(crate) enum Membership {
    /// A room (the token allows it).
    Room,
    /// A private conversation whose members are known (opened `with` the other).
    Known(Members),
    /// A private conversation named by its id: the joiner must be found among its members.
    Lookup,
}

/// What a client frame did to the connection's standing.
pub(super) enum Outcome {
    /// Nothing that changes the connection's deadlines.
    Quiet,
    /// Open mode: the first accepted `join` (the hello deadline no longer applies).
    Hello,
    /// Token mode: a token was accepted; it expires in this long. `first`: the connection's
    /// first token, whose user is to be registered with [`Conn::register`].
    Authenticated { left: Duration, first: bool },
    /// Token mode: no valid token; `unauthorized` is queued, close with 4001.
    Refuse,
    /// A `join`, checked: to be carried out with [`Conn::join`].
    Join(Box<JoinRequest>),
}

impl Conn {
    /// A new connection's state, with a fresh peer (its outbox) in `hub`.
    pub(super) fn new(
        hub: &Hub,
        settings: &Arc<ConnSettings>,
        mode: Mode,
        ip: Option<IpAddr>,
    ) -> Self {
        Conn {
            limiter: settings.rate.map(RateLimiter::direct).map(Box::new),
            hub: hub.clone(),
            peer: hub.new_peer(),
            mode,
            name: None,
            claims: None,
            rooms: Vec::new(),
            settings: settings.clone(),
            ip,
        }
    }

    /// Queues an `error` frame. The message is capped, and `client_id` is echoed only when it is
    /// valid, so an error never carries more than a short prefix of the client's input.
    pub(super) fn error(
        &self,
        code: ErrorCode,
        message: impl Into<String>,
        client_id: Option<String>,
    ) {
        let client_id = client_id.filter(|c| self.hub.limits().client_id(c).is_ok());
        let message = echo::cap(message.into());
        self.peer.deliver(Outbound::Frame(
            ServerMsg::error(code, message, client_id).to_json().into(),
        ));
    }

    pub(super) fn rate_limited(&self) -> bool {
        let limited = self.limiter.as_ref().is_some_and(|l| l.check().is_err());
        if limited {
            metrics::rate_limited();
        }
        limited
    }

    pub(super) fn rate_error(&self, client_id: Option<String>) {
        let limits = self.hub.limits();
        self.error(
            ErrorCode::RateLimited,
            format!(
                "slow down: at most {} messages per second, in bursts of up to {}; this one was not carried out",
                limits.rate_per_sec, limits.rate_burst
            ),
            client_id,
        );
    }

    /// Every frame counts against the rate limit, before any parsing: a flood of bad JSON,
    /// binary frames or pings is throttled like a flood of messages.
    pub(super) fn handle_frame(&mut self, msg: Message) -> Outcome {
        let limited = self.rate_limited();
        match msg {
            Message::Text(text) if limited => {
                self.rate_error(echo::client_id_of(&text));
                Outcome::Quiet
            }
            Message::Text(text) => match self.mode {
                Mode::Typed => self.handle_typed(&text),
                Mode::Classic => {
                    self.handle_classic(&text);
                    Outcome::Quiet
                }
            },
            Message::Binary(_) if limited => {
                self.rate_error(None);
                Outcome::Quiet
            }
            Message::Binary(_) => {
                if self.settings.identity.mode() == AuthMode::Token && self.claims.is_none() {
                    return self.refuse(AuthError::Missing);
                }
                self.error(
                    ErrorCode::BadRequest,
                    "binary frames are not supported: send JSON text frames",
                    None,
                );
                Outcome::Quiet
            }
            // Pings and pongs only spend the budget (tungstenite answers pings itself).
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Outcome::Quiet,
        }
    }

    /// The hello or token deadline passed: in token mode `unauthorized` is queued (no token, or
    /// it expired). Returns how the connection ends.
    pub(super) fn deadline_passed(&self, end: End) -> End {
        if end == End::Unauthorized {
            let why = if self.claims.is_some() {
                AuthError::Expired
            } else {
                AuthError::Missing
            };
            self.error(ErrorCode::Unauthorized, why.to_string(), None);
        }
        end
    }

    /// Makes the connection reachable by direct messages to its name (after its first token);
    /// returns once they are routed here, on every node.
    pub(super) async fn register(&self) {
        if let Some(name) = &self.name {
            self.hub.register_user(name, &self.peer).await;
        }
    }

    /// Whether the connection's token has been revoked since it was checked.
    pub(super) fn revoked(&self) -> bool {
        self.claims
            .as_ref()
            .is_some_and(|c| self.settings.identity.recheck(c).is_err())
    }

    /// Queues `unauthorized` for a connection that is about to be closed with 4001.
    pub(super) fn refuse(&self, why: AuthError) -> Outcome {
        self.error(ErrorCode::Unauthorized, why.to_string(), None);
        Outcome::Refuse
    }

    pub(super) fn handle_typed(&mut self, text: &str) -> Outcome {
        let token_mode = self.settings.identity.mode() == AuthMode::Token;
        let msg: ClientMsg = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(_) if token_mode && self.claims.is_none() => {
                return self.refuse(AuthError::Missing);
            }
            Err(e) => {
                self.error(ErrorCode::BadRequest, bad_request(&e), None);
                return Outcome::Quiet;
            }
        };
        if let ClientMsg::Auth { token } = &msg
            && token_mode
        {
            return self.authenticate(token);
        }
        if token_mode && self.claims.is_none() {
            return self.refuse(AuthError::Missing);
        }
        let client_id = match &msg {
            ClientMsg::Send { client_id, .. } | ClientMsg::Direct { client_id, .. } => {
                client_id.clone()
            }
            _ => None,
        };
        match self.dispatch(msg) {
            Ok(Some(join)) => Outcome::Join(join),
            Ok(None) => Outcome::Quiet,
            Err(e) => {
                self.error(e.code, e.message, client_id);
                Outcome::Quiet
            }
        }
    }

    /// Token mode: checks an `auth` frame. The first fixes the connection's user; a later one
    /// (a refreshed token for the same user) extends it.
    pub(super) fn authenticate(&mut self, token: &str) -> Outcome {
        let claims = match self.settings.identity.verify(token) {
            Ok(c) => c,
            Err(e) => return self.refuse(e),
        };
        if let Some(current) = &self.name
            && *current != claims.user
        {
            self.error(
                ErrorCode::NameTaken,
                format!("this connection already chats as `{current}`"),
                None,
            );
            return Outcome::Quiet;
        }
        let first = self.name.is_none();
        if first {
            self.name = Some(claims.user.clone());
        }
        self.leave_forbidden(&claims);
        self.peer.deliver(Outbound::Frame(
            ServerMsg::Authenticated {
                user: claims.user.to_string(),
                exp: claims.exp,
            }
            .to_json()
            .into(),
        ));
        let left = claims.remaining();
        self.claims = Some(claims);
        Outcome::Authenticated { left, first }
    }

    /// Carries out a typed frame; a `join` is only checked here and returned, to be carried
    /// out by [`Conn::join`] (it may wait for the store).
    pub(super) fn dispatch(
        &mut self,
        msg: ClientMsg,
    ) -> Result<Option<Box<JoinRequest>>, ValidationError> {
        match msg {
            ClientMsg::Join {
                room,
                name,
                since,
                epoch,
                with,
            } => {
                let req = self.join_request(&room, &name, since, epoch, with.as_deref())?;
                return Ok(Some(Box::new(req)));
            }
            ClientMsg::Leave { room } => self.on_leave(&room),
            ClientMsg::Send {
                room,
                text,
                client_id,
                reply_to,
                files,
            } if files.is_empty() => self.on_send(room, &text, client_id, reply_to),
            ClientMsg::Edit {
                room,
                seq,
                text,
                client_id,
            } => self.on_edit(room, seq, &text, client_id),
            ClientMsg::Delete {
                room,
                seq,
                client_id,
            } => self.on_delete(room, seq, client_id),
            ClientMsg::React {
                room,
                seq,
                emoji,
                remove,
                client_id,
            } => self.on_react(room, seq, &emoji, remove, client_id),
            ClientMsg::Send {
                room,
                text,
                client_id,
                reply_to,
                files,
            } => self.on_send_files(room, text, client_id, reply_to, files),
            ClientMsg::Direct {
                to,
                text,
                client_id,
            } => self.on_direct(&to, &text, client_id),
            // Open mode has nothing to check: names are chosen freely. (Token mode answers
            // `auth` before dispatch.)
            ClientMsg::Auth { .. } => Err(ValidationError {
                code: ErrorCode::BadRequest,
                message: "this server does not use tokens (welcome.auth is \"open\")".into(),
            }),
            ClientMsg::Typing { room } => self.on_typing(&room),
            ClientMsg::Read { room, seq } => self.on_read(&room, seq),
        }?;
        Ok(None)
    }

    fn on_leave(&mut self, room: &str) -> Result<(), ValidationError> {
        let at = self.joined(room)?;
        self.leave_room(at);
        Ok(())
    }

    /// Stores a message in a room the connection joined; the store's completion acks it.
    fn on_send(
        &mut self,
        room: String,
        text: &str,
        client_id: Option<String>,
        reply_to: Option<u64>,
    ) -> Result<(), ValidationError> {
        self.joined(&room)?;
        let name = self.name.clone().unwrap_or_else(|| "".into());
        let peer = self.peer.clone();
        let cid = client_id.clone();
        self.hub.post_now(
            &room.clone(),
            &name,
            text,
            client_id.as_deref(),
            reply_to,
            move |result| answer_send(&peer, room, cid, result),
        )
    }

    /// A v1 `direct`: stored in the conversation with `to`; the echo is the ack.
    fn on_direct(
        &mut self,
        to: &str,
        text: &str,
        client_id: Option<String>,
    ) -> Result<(), ValidationError> {
        let Some(name) = &self.name else {
            return Err(ValidationError {
                code: ErrorCode::NotJoined,
                message: "join a room first: that gives this connection its name".into(),
            });
        };
        let (peer, cid) = (self.peer.clone(), client_id.clone());
        self.hub.direct(
            name,
            to,
            text,
            client_id.as_deref(),
            self.peer.id(),
            move |result| answer_direct(&peer, cid, result),
        )
    }

    fn on_typing(&mut self, room: &str) -> Result<(), ValidationError> {
        self.joined(room)?;
        if let Some(name) = &self.name {
            self.hub.typing(self.peer.id(), room, name);
        }
        Ok(())
    }

    /// The room a `join` enters, with its members when it is a private conversation: the one
    /// `with` another user, one named by its id (for its members only), or a room (that the
    /// token allows).
    pub(super) fn target(
        &self,
        room: &str,
        with: Option<&str>,
        name: &str,
    ) -> Result<(String, Membership), ValidationError> {
        if let Some(with) = with {
            let (id, members) = self.hub.open_conversation(name, with)?;
            if !room.is_empty() && room != id {
                return Err(ValidationError {
                    code: ErrorCode::InvalidRoom,
                    message: "`room` and `with` name different conversations".into(),
                });
            }
            return Ok((id, Membership::Known(members)));
        }
        if banter_protocol::is_conversation(room) {
            return Ok((room.to_owned(), Membership::Lookup));
        }
        self.allowed(room)?;
        Ok((room.to_owned(), Membership::Room))
    }

    /// Token mode: whether the token's `rooms` claim allows `room` (absent: every room).
    pub(super) fn allowed(&self, room: &str) -> Result<(), ValidationError> {
        match &self.claims {
            Some(c) if !c.allows_room(room) => Err(ValidationError {
                code: ErrorCode::Forbidden,
                message: format!("your token does not allow the room `{room}`"),
            }),
            _ => Ok(()),
        }
    }

    /// The index of `room` among this connection's rooms, or the error to answer.
    pub(super) fn joined(&self, room: &str) -> Result<usize, ValidationError> {
        self.hub.check_room(room)?;
        self.rooms
            .iter()
            .position(|r| r == room)
            .ok_or_else(|| ValidationError {
                code: ErrorCode::NotJoined,
                message: format!("join `{room}` first"),
            })
    }

    pub(super) fn handle_classic(&mut self, text: &str) {
        let msg: ClassicMsg = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(e) => return self.error(ErrorCode::BadRequest, bad_request(&e), None),
        };
        let peer = self.peer.clone();
        let posted = self.hub.post_now(
            DEFAULT_ROOM,
            &msg.user,
            &msg.message,
            None,
            None,
            move |result| match result {
                Ok(a) if !a.duplicate => metrics::message_stored(metrics::Path::Classic),
                Ok(_) => {}
                Err(e) => {
                    let e = refusal(&e);
                    peer.send(&ServerMsg::error(e.code, e.message, None));
                }
            },
        );
        if let Err(e) = posted {
            self.error(e.code, e.message, None);
        }
    }

    pub(super) fn leave_all(&mut self) {
        match self.mode {
            Mode::Typed => {
                for room in &self.rooms {
                    self.settings.rooms_per_ip.leave(self.ip, room);
                }
                self.hub.disconnect(
                    self.peer.id(),
                    self.name.as_deref(),
                    self.rooms.iter().map(String::as_str),
                );
            }
            Mode::Classic => {
                self.hub.leave(self.peer.id(), DEFAULT_ROOM);
            }
        }
        self.rooms.clear();
    }
}

/// Acks a stored `send` (when it carried a `client_id`), or says why it was not stored. Runs on
/// the store's thread, after the message was published: the sender sees its message, then the
/// ack.
pub(super) fn answer_send(
    peer: &Peer,
    room: String,
    client_id: Option<String>,
    result: Result<Appended, StoreError>,
) {
    match result {
        Ok(a) => {
            if !a.duplicate {
                metrics::message_stored(metrics::Path::Ws);
            }
            if let Some(client_id) = client_id {
                peer.send(&ServerMsg::Ack {
                    client_id,
                    room,
                    seq: a.ack_seq(),
                });
            }
        }
        Err(e) => {
            let e = refusal(&e);
            peer.send(&ServerMsg::error(e.code, e.message, client_id));
        }
    }
}

/// Answers a `direct` to the connection that sent it: its `direct` echo (the ack), or why it
/// was not stored. Runs on the store's thread.
fn answer_direct(
    peer: &Peer,
    client_id: Option<String>,
    result: Result<(Appended, DirectMessage), StoreError>,
) {
    match result {
        Ok((a, direct)) => {
            if !a.duplicate {
                metrics::message_stored(metrics::Path::Ws);
            }
            peer.send(&ServerMsg::Direct(direct));
        }
        Err(e) => {
            let e = refusal(&e);
            peer.send(&ServerMsg::error(e.code, e.message, client_id));
        }
    }
}

fn bad_request(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() {
        format!("not valid JSON: {e}")
    } else {
        format!("not a valid message: {e}")
    }
}
