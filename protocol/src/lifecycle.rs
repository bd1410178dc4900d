//! v1.2 message lifecycle: the `change` entries (edit, delete, react, unreact) that take a `seq`
//! of their room like messages do, and the folded state a message carries in pages.

use serde::{Deserialize, Serialize};

use crate::RoomRole;

/// What a `change` entry did: to its target message (`edit`, `delete`, `react`, `unreact`), or
/// (v1.2, private rooms and moderation) to the room's members: then `target` is 0 and `text`
/// names the member concerned (the subject), `user` who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The author replaced the text (`text` holds the new one).
    Edit,
    /// The message was deleted: its text and reactions are erased; it stays a tombstone.
    Delete,
    /// `user` added the reaction `emoji`.
    React,
    /// `user` took the reaction `emoji` back.
    Unreact,
    /// Moderation: `text` was added as a member, or made one (from another role).
    Member,
    /// Moderation: `text` was added as, or made, a moderator.
    Moderator,
    /// Moderation: `text` was added as, or made, an owner (the room's creator is its first).
    Owner,
    /// Moderation: `text` was removed from the room (a private room's member list).
    Remove,
    /// Moderation: `text` was banned: removed, and kept out (public rooms too).
    Ban,
    /// Moderation: `text`'s ban was lifted.
    Unban,
    /// Moderation: `text` may read but not post.
    Mute,
    /// Moderation: `text` may post again.
    Unmute,
    /// Moderation: the room was made private (only members join it); `text` is empty.
    Private,
    /// Moderation: the room was made public again (anyone may join it); `text` is empty.
    Public,
}

impl ChangeKind {
    /// The kind as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Edit => "edit",
            ChangeKind::Delete => "delete",
            ChangeKind::React => "react",
            ChangeKind::Unreact => "unreact",
            ChangeKind::Member => "member",
            ChangeKind::Moderator => "moderator",
            ChangeKind::Owner => "owner",
            ChangeKind::Remove => "remove",
            ChangeKind::Ban => "ban",
            ChangeKind::Unban => "unban",
            ChangeKind::Mute => "mute",
            ChangeKind::Unmute => "unmute",
            ChangeKind::Private => "private",
            ChangeKind::Public => "public",
        }
    }

    /// Whether this entry records a moderation action (no target message; `text` is the
    /// member concerned) rather than a change to a message.
    pub fn is_moderation(self) -> bool {
        !matches!(
            self,
            ChangeKind::Edit | ChangeKind::Delete | ChangeKind::React | ChangeKind::Unreact
        )
    }

    /// The role a `member`, `moderator` or `owner` entry gives its subject.
    pub fn role(self) -> Option<RoomRole> {
        match self {
            ChangeKind::Member => Some(RoomRole::Member),
            ChangeKind::Moderator => Some(RoomRole::Moderator),
            ChangeKind::Owner => Some(RoomRole::Owner),
            _ => None,
        }
    }

    /// The entry that gives `role`.
    pub fn of_role(role: RoomRole) -> Self {
        match role {
            RoomRole::Member => ChangeKind::Member,
            RoomRole::Moderator => ChangeKind::Moderator,
            RoomRole::Owner => ChangeKind::Owner,
        }
    }
}

/// Entry `seq` of `room` changed message `target` (a `change` frame, and in a page's `changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub room: String,
    /// This entry's own place in the room's sequence.
    pub seq: u64,
    /// The `seq` of the message it changes (0 for a moderation entry).
    pub target: u64,
    /// Who made the change.
    pub user: String,
    /// When, in milliseconds since the Unix epoch, set by the server.
    pub ts: u64,
    pub kind: ChangeKind,
    /// The new text, for `edit`. Erased (absent) once the target is deleted. For a moderation
    /// entry: the member concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The reaction, for `react` and `unreact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
}

/// One emoji's reactions to a message, in the folded state of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    /// Who gave it, in the order they did.
    pub users: Vec<String>,
}
