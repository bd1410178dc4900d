//! Bodies of the HTTP API (`/api/...`, `/healthz`).

use serde::{Deserialize, Serialize};

use crate::{Change, ChatMessage, ErrorCode};

mod accounts;
mod admin;
mod members;
mod push;
mod room_lists;
mod search;

pub use accounts::{Login, LoginOk, PasswordChange, Signup};
pub use admin::{Account, InviteInfo, NewInvite, NewUser, UserInfo, UserPatch};
pub use members::{CreateRoom, Member, MemberList, NewConversation, SetPrivacy, SetRole};
pub use push::{PushKey, PushKeys, PushNotice, PushSettings, PushSubscription};
pub use room_lists::MyRooms;
pub use search::{SearchHit, SearchResults};

/// Body of `POST /api/rooms/{room}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMessage {
    /// The poster's name. With a token (v1.1) it may be left out: the user is the token's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    pub text: String,
    /// Optional idempotency key, as in the WebSocket `send`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// v1.2: the message answers message `reply_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// v1.2: ids of files uploaded to this room.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// Body of `PATCH /api/rooms/{room}/messages/{seq}` (v1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditMessage {
    pub text: String,
    /// Optional idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Answer of the v1.2 change routes (`PATCH`, `DELETE`, `PUT` on a message): the entry's `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub room: String,
    pub seq: u64,
}

/// Answer of `GET /api/rooms/{room}/threads/{seq}` (v1.2): a thread's root and its replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPage {
    pub room: String,
    /// The root, with its folded state (`replies`, `last_reply_ts`).
    pub root: ChatMessage,
    /// The replies in `seq` order, folded.
    pub replies: Vec<ChatMessage>,
    #[serde(default)]
    pub epoch: String,
}

/// Answer of `GET /api/rooms/{room}/messages?since=SEQ&limit=N` (or `before=SEQ`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    pub room: String,
    /// Messages after `since` (or the `limit` just below `before`), in `seq` order.
    pub messages: Vec<ChatMessage>,
    /// `false` when history no longer holds every message after `since`; with `before`, whether
    /// the page reaches the oldest message held.
    pub complete: bool,
    /// The room's epoch (v1.1): the life of its history these `seq`s belong to.
    #[serde(default)]
    pub epoch: String,
    /// v1.2: the change entries whose `seq` falls in this page's range (their effect is
    /// already folded into `messages`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// One room in `GET /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: String,
    /// The room's latest `seq` (0 before its first message).
    pub head: u64,
    /// How many users are present.
    pub users: usize,
    /// v1.2: only members may join it (listed only to them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

/// Answer of `GET /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomList {
    pub rooms: Vec<RoomSummary>,
}

/// One private conversation in `GET /api/conversations` (v1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// The conversation's id (`dm-…`): join it, read it, post to it like a room.
    pub room: String,
    /// The other member (empty in a group conversation: see `members`).
    pub with: String,
    /// The conversation's latest `seq`.
    pub head: u64,
    /// When its latest message was sent (ms since the Unix epoch), 0 if none.
    pub ts: u64,
    /// v1.2: a group conversation's members (`grp-…` ids), sorted; empty for a pair's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// Answer of `GET /api/conversations` (v1.1): the asking user's conversations, most recent first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
}

/// Body of every HTTP error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// Answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"` while serving.
    pub status: String,
    pub version: String,
    /// Open WebSocket connections.
    pub connections: usize,
}
