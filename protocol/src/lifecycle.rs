//! v1.2 message lifecycle: the `change` entries (edit, delete, react, unreact) that take a `seq`
//! of their room like messages do, and the folded state a message carries in pages.

use serde::{Deserialize, Serialize};

/// What a `change` entry did to its target message.
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
}

impl ChangeKind {
    /// The kind as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Edit => "edit",
            ChangeKind::Delete => "delete",
            ChangeKind::React => "react",
            ChangeKind::Unreact => "unreact",
        }
    }
}

/// Entry `seq` of `room` changed message `target` (a `change` frame, and in a page's `changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub room: String,
    /// This entry's own place in the room's sequence.
    pub seq: u64,
    /// The `seq` of the message it changes.
    pub target: u64,
    /// Who made the change.
    pub user: String,
    /// When, in milliseconds since the Unix epoch, set by the server.
    pub ts: u64,
    pub kind: ChangeKind,
    /// The new text, for `edit`. Erased (absent) once the target is deleted.
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
