//! Banter's wire contract, v1, as Rust types.
//!
//! This crate is the single definition of what travels between Banter's server and its clients:
//! the WebSocket messages ([`ClientMsg`], [`ServerMsg`]), the HTTP bodies ([`http`]), the classic
//! `{user, message}` shape ([`ClassicMsg`]), error and close codes ([`ErrorCode`], [`close`]) and the
//! validation rules with their configurable [`Limits`]. `docs/protocol.md` documents the same
//! contract for people; the tests in this crate pin every example there byte for byte.
//!
//! Invariant: no I/O and no runtime. This crate knows nothing of tokio, axum or the browser, and
//! builds for `wasm32-unknown-unknown` so the web client uses the very same types.

mod codes;
mod files;
pub mod http;
mod lifecycle;
mod limits;
mod msg;
mod roles;

pub use codes::{ErrorCode, close};
pub use files::FileInfo;
pub use lifecycle::{Change, ChangeKind, Reaction};
pub use limits::{Limits, ValidationError};
pub use msg::{
    AuthMode, ChatMessage, ClassicMsg, ClientMsg, DirectMessage, PresenceState, ServerInfo,
    ServerMsg,
};
pub use roles::{RoomRole, UserRole};

/// The room a client lands in when it names none (and where classic clients chat).
pub const DEFAULT_ROOM: &str = "lobby";

/// Room ids that start with this are private conversations between two users (v1.1): `dm-`
/// and 32 hex digits, given by the server (a client never makes one up).
pub const CONVERSATION_PREFIX: &str = "dm-";

/// Whether `room` names a private conversation rather than a room.
pub fn is_conversation(room: &str) -> bool {
    room.starts_with(CONVERSATION_PREFIX)
}

/// Room ids that start with this are group conversations (v1.2): `grp-` and 32 hex digits,
/// given by `POST /api/conversations`; private rooms whose members are the group.
pub const GROUP_PREFIX: &str = "grp-";

/// Whether `room` names a group conversation (v1.2).
pub fn is_group(room: &str) -> bool {
    room.starts_with(GROUP_PREFIX)
}

/// The protocol version this crate speaks; sent in `welcome.server.protocol`.
pub const PROTOCOL_VERSION: u32 = 1;
