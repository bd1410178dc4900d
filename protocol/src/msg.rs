//! WebSocket messages: one JSON object per text frame, internally tagged by `"type"`.

use serde::{Deserialize, Serialize};

use crate::{Change, ErrorCode, FileInfo, Limits, Reaction, RoomRole};

fn is_false(b: &bool) -> bool {
    !*b
}

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
        /// v1.2: the message answers message `reply_to` (its thread is the root's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
        /// v1.2: ids of files uploaded to this room, attached to the message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<String>,
    },
    /// v1.2: replace the text of your message `seq` (acked like `send`).
    Edit {
        room: String,
        seq: u64,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// v1.2: delete message `seq` (yours; any, for moderators and admins).
    Delete {
        room: String,
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// v1.2: add (or with `remove`, take back) your reaction `emoji` to message `seq`.
    React {
        room: String,
        seq: u64,
        emoji: String,
        #[serde(default, skip_serializing_if = "is_false")]
        remove: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// v1.2: you have read `room` up to `seq` (positions only move forward).
    Read { room: String, seq: u64 },
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
///
/// A live `message` frame carries the message as it was posted (v1.2: with `reply_to`; the
/// changes that follow come as `change` frames). A replayed one (`join` with `since`) and one in
/// an HTTP page carry its current stored state: the edited `text`, `edited_ts`, `reactions`,
/// a thread root's `replies` and `last_reply_ts`, and a deleted one as a tombstone (`deleted`,
/// empty `text`, no reactions); the change entries of the range follow (or, in a page, come in
/// `changes`) in `seq` order. Folding is idempotent: applying a change to a state that already
/// includes it changes nothing, so a client that applies every entry in order ends at the
/// server's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// v1.2: the root of the thread this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// v1.2: files attached to the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    /// v1.2, folded state: when the text was last edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_ts: Option<u64>,
    /// v1.2, folded state: the message was deleted (its `text` is empty, its reactions gone).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// v1.2, folded state: reactions by emoji, in the order each emoji was first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// v1.2, folded state on a thread's root: how many replies it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<u64>,
    /// v1.2, folded state on a thread's root: when its latest reply was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reply_ts: Option<u64>,
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
        /// v1.2: the user's read position in the room (`0` when never set).
        #[serde(default)]
        read: u64,
        /// v1.2: the user's role in the room, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<RoomRole>,
        /// v1.2: only members may join the room.
        #[serde(default, skip_serializing_if = "is_false")]
        private: bool,
    },
    /// A chat message, live or replayed.
    Message(ChatMessage),
    /// v1.2: an entry that changed a message (edit, delete, react, unreact), live or replayed.
    Change(Change),
    /// v1.2: the user's read position in `room` moved to `seq` (from another connection).
    Read { room: String, seq: u64 },
    /// v1.2: the user was removed or banned from `room`: nothing more comes from it.
    Removed { room: String },
    /// v1.2: the user was given a place in private room `room` (added as a member, or made one
    /// of a new group conversation) by `by`, on any node: join it to read it. Sent to every
    /// connection of the user, so a page learns of a new group or room without reconnecting.
    Added { room: String, by: String },
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
