//! v1.2 private rooms and moderation: creating rooms and listing and changing members.

use serde::{Deserialize, Serialize};

use crate::RoomRole;

/// Body of `POST /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoom {
    pub room: String,
    #[serde(default)]
    pub private: bool,
}

/// Body of `PATCH /api/rooms/{room}` (owners and server admins): make the room private or
/// public. Going private, everyone present in the room at that moment is made a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPrivacy {
    pub private: bool,
}

/// One member in `GET /api/rooms/{room}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: String,
    pub role: RoomRole,
    /// May read but not post.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
}

/// Answer of `GET /api/rooms/{room}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    pub room: String,
    pub members: Vec<Member>,
    /// Only members may join the room.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// Who is banned (kept out), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub banned: Vec<String>,
}

/// Body of `PUT /api/rooms/{room}/members/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRole {
    #[serde(default)]
    pub role: RoomRole,
}

/// Body of `POST /api/conversations` (v1.2): a group conversation of these people (the caller
/// is added when left out). Answered with its [`crate::http::ConversationSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConversation {
    pub members: Vec<String>,
}
