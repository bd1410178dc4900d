//! v1.2 roles: a member's role in a room, and a user's role on the server.

use serde::{Deserialize, Serialize};

/// A member's role in a room (private rooms store their members; public rooms their owners,
/// moderators and the muted and banned).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RoomRole {
    /// Reads and posts.
    #[default]
    Member,
    /// Adds and removes members, mutes and bans, deletes any message.
    Moderator,
    /// A moderator who may also change roles and the room's settings.
    Owner,
}

/// A user's role on the whole server (`--auth accounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    #[default]
    Member,
    /// May do everything a room owner may, in every room, and manage users and invites.
    Admin,
}
