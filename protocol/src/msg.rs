//! WebSocket messages: one JSON object per text frame, internally tagged by `"type"`.

use serde::{Deserialize, Serialize};

use crate::{ErrorCode, Limits};

/// What a client sends over `GET /ws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Enter `room` as `name`; with `since`, replay every message after that `seq`. `epoch` is
    /// the room epoch that `since` belongs to (v1.1); with a token, `name` may be left out.
    /// With `with` (v1.1), the room is the private conversation with that user, and `room` may
    /// be left out.
    Join {
        #[serde(default, skip_serializing_if = "String::is_empty")]
        room: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<String>,
    },
    /// Leave `room`.
    Leave { room: String },
    /// Post `text` to a joined room. A repeated `client_id` is stored once and acked again.
    Send {
        room: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// A private message to the user named `to`.
    Direct {
        to: String,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// The user is typing in `room` (ephemeral, never stored).
    Typing { room: String },
    /// Presents a signed token (v1.1, servers with `auth: "token"`): the first frame.
    Auth { token: String },
}

/// A stored chat message, as sent live, replayed, and returned by the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room: String,
    /// Per-room sequence number: 1, 2, 3, … gap-free; the client's resume point.
    pub seq: u64,
    /// Globally unique message id.
    pub id: String,
    pub user: String,
    pub text: String,
    /// Milliseconds since the Unix epoch, set by the server.
    pub ts: u64,
}

/// A private message, sent to both its sender and its recipient: to their connections that have
/// not joined the conversation (those get it as a `message`), and to the sending connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectMessage {
    pub from: String,
    pub to: String,
    pub text: String,
    pub id: String,
    pub ts: u64,
    /// Echoed in the sender's copy when the sender's `direct` carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The conversation it is stored in (v1.1): join it by this id, or `with` the other user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Its `seq` in the conversation (v1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// Who answers: sent in `welcome.server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Product name, `"banter"`.
    pub name: String,
    /// Server version (semver).
    pub version: String,
    /// Wire protocol version, [`crate::PROTOCOL_VERSION`].
    pub protocol: u32,
}

/// Whether a server needs a token (`welcome.auth`, v1.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Clients choose their names (v1).
    #[default]
    Open,
    /// The first frame must be `auth` with a signed token; the user is its `sub`.
    Token,
}

/// A room's presence change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Joined,
    Left,
    Typing,
}

/// What the server sends over `GET /ws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First frame after the upgrade.
    Welcome {
        session: String,
        server: ServerInfo,
        limits: Limits,
        /// v1.1: whether a token is required before anything else.
        #[serde(default)]
        auth: AuthMode,
    },
    /// The `auth` frame's token was accepted: the connection is `user` until `exp` (seconds
    /// since the Unix epoch).
    Authenticated { user: String, exp: u64 },
    /// A `join` was accepted: who is present, the room's latest `seq` and its `epoch` (v1.1).
    Joined {
        room: String,
        /// The present users, sorted; in a big room only the first `--joined-max-users`.
        users: Vec<String>,
        head: u64,
        #[serde(default)]
        epoch: String,
        /// How many users are present, when `users` was cut short (v1.1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        users_total: Option<u64>,
        /// In a private conversation (v1.1): the other member.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<String>,
    },
    /// A chat message, live or replayed.
    Message(ChatMessage),
    /// Brackets a replay: messages `from..=to` follow. `complete: false` means history no longer
    /// holds everything after the client's `since`.
    Replay {
        room: String,
        from: u64,
        to: u64,
        complete: bool,
        #[serde(default)]
        epoch: String,
    },
    /// The client's `send` was stored as `seq`.
    Ack {
        client_id: String,
        room: String,
        seq: u64,
    },
    /// A private message.
    Direct(DirectMessage),
    /// Someone joined, left or is typing.
    Presence {
        room: String,
        user: String,
        state: PresenceState,
    },
    /// A request was refused.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum MessageRef<'a> {
    Message(&'a ChatMessage),
}

impl ServerMsg {
    /// Encodes to the JSON text of one frame.
    pub fn to_json(&self) -> String {
        // Serializing these plain types cannot fail: no maps with non-string keys, no floats.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Encodes a `message` frame without cloning the message.
    pub fn message_json(msg: &ChatMessage) -> String {
        serde_json::to_string(&MessageRef::Message(msg)).unwrap_or_default()
    }

    /// Shorthand for an `error` frame.
    pub fn error(code: ErrorCode, message: impl Into<String>, client_id: Option<String>) -> Self {
        ServerMsg::Error {
            code,
            message: message.into(),
            client_id,
        }
    }

    /// The `welcome` frame for a session.
    pub fn welcome(session: String, version: &str, limits: Limits, auth: AuthMode) -> Self {
        ServerMsg::Welcome {
            auth,
            session,
            server: ServerInfo {
                name: "banter".into(),
                version: version.into(),
                protocol: crate::PROTOCOL_VERSION,
            },
            limits,
        }
    }
}

impl ClientMsg {
    /// Encodes to the JSON text of one frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The classic minimal chat shape, spoken on `GET /` (both directions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicMsg {
    pub user: String,
    pub message: String,
}

#[derive(Serialize)]
struct ClassicRef<'a> {
    user: &'a str,
    message: &'a str,
}

impl ClassicMsg {
    /// Encodes a stored chat message in the classic shape.
    pub fn json_from(msg: &ChatMessage) -> String {
        serde_json::to_string(&ClassicRef {
            user: &msg.user,
            message: &msg.text,
        })
        .unwrap_or_default()
    }
}
