//! Error codes carried by `error` frames and HTTP error bodies, and WebSocket close codes.

use serde::{Deserialize, Serialize};

/// Why a request was refused. Serialized in snake_case (`"bad_request"`, …).
///
/// New codes may be added; a client treats an unknown code like a generic refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not valid JSON, not a known message type, or a required field is missing.
    BadRequest,
    /// `text` is longer than the limit (the whole frame over its limit closes with 1009 instead).
    TooLarge,
    /// The client sent faster than its rate limit allows; the request was not carried out.
    RateLimited,
    /// `name`/`user` is empty, too long or holds control characters.
    InvalidName,
    /// `room` is empty, too long, uses characters outside `a-z 0-9 - _`, or the server's room
    /// limit is reached.
    InvalidRoom,
    /// `send`, `typing` or `leave` for a room this connection has not joined.
    NotJoined,
    /// `direct` to a user who is not connected.
    UnknownUser,
    /// This connection already chats under another name (one connection is one user).
    NameTaken,
    /// `text` is empty after trimming, or another field is malformed.
    InvalidText,
    /// HTTP only: no such route.
    NotFound,
    /// Refused at the door (the `Origin` is not allowed), or the token does not allow this room
    /// or conversation.
    Forbidden,
    /// The server is at its connection limit.
    Unavailable,
    /// Something went wrong on the server; details are in its logs, not here.
    Internal,
    /// v1.1: no token, or a forged or expired one (on a socket: then closed with 4001).
    Unauthorized,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InvalidName => "invalid_name",
            ErrorCode::InvalidRoom => "invalid_room",
            ErrorCode::NotJoined => "not_joined",
            ErrorCode::UnknownUser => "unknown_user",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Unauthorized => "unauthorized",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WebSocket close codes used by Banter.
pub mod close {
    /// Normal closure (either side is done).
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect with backoff and resume with `since`.
    pub const GOING_AWAY: u16 = 1001;
    /// Policy violation: origin or auth refused after the upgrade, or abuse.
    pub const POLICY: u16 = 1008;
    /// A frame or message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server hit an internal error.
    pub const INTERNAL: u16 = 1011;
    /// The client fell too far behind (its outbound queue filled up, or it stopped answering
    /// pings): reconnect and resume with `since`.
    pub const TOO_SLOW: u16 = 4000;
    /// v1.1: the token is missing, invalid or expired: get a new one before reconnecting.
    pub const UNAUTHORIZED: u16 = 4001;
}
