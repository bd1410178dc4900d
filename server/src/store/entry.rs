//! [`Entry`]: one place of a room's sequence, a message or a change (v1.2), and the rules and
//! the fold every store applies to a change in the same atomic step that gives it its `seq`.
//!
//! A change (`edit`, `delete`, `react`, `unreact`) is checked against the target's stored
//! state ([`check`]) where the store serializes its writes (the memory store's room lock, the
//! SQLite writer's transaction, the Redis post script), never against a racy pre-read: two
//! nodes editing the same message are ordered by the store. Then the target's folded state
//! (text, `edited_ts`, `deleted`, `reactions`) is updated by [`fold`], and a reply's thread
//! root by [`fold_reply`], in that same step, so a page is a plain read. The hub folds its hot
//! window with the same functions as entries are published ([`crate::hub`]'s room), so replays
//! from memory and from the store agree. [`fold`] is idempotent: a client that holds a
//! message's current state and applies the change entries after it ends where the server is.

use banter_protocol::{Change, ChangeKind, ChatMessage, Reaction, ServerMsg};

use super::Frame;

/// A stored entry of a room's sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Message(ChatMessage),
    Change(Change),
}

impl From<ChatMessage> for Entry {
    fn from(m: ChatMessage) -> Self {
        Entry::Message(m)
    }
}

impl From<Change> for Entry {
    fn from(c: Change) -> Self {
        Entry::Change(c)
    }
}

impl Entry {
    pub fn seq(&self) -> u64 {
        match self {
            Entry::Message(m) => m.seq,
            Entry::Change(c) => c.seq,
        }
    }

    pub fn room(&self) -> &str {
        match self {
            Entry::Message(m) => &m.room,
            Entry::Change(c) => &c.room,
        }
    }

    pub fn ts(&self) -> u64 {
        match self {
            Entry::Message(m) => m.ts,
            Entry::Change(c) => c.ts,
        }
    }

    pub fn user(&self) -> &str {
        match self {
            Entry::Message(m) => &m.user,
            Entry::Change(c) => &c.user,
        }
    }

    /// The message, when this entry is one.
    pub fn message(&self) -> Option<&ChatMessage> {
        match self {
            Entry::Message(m) => Some(m),
            Entry::Change(_) => None,
        }
    }

    /// The entry's frame: a `message` (serialized exactly as before v1.2 when it carries no
    /// lifecycle field) or a `change`.
    pub fn frame(&self) -> Frame {
        match self {
            Entry::Message(m) => ServerMsg::message_json(m).into(),
            Entry::Change(c) => change_json(c).into(),
        }
    }

    /// Bytes of text this entry holds (for budgets).
    pub fn text_bytes(&self) -> usize {
        match self {
            Entry::Message(m) => {
                m.text.len()
                    + m.reactions
                        .iter()
                        .map(|r| {
                            r.emoji.len() + r.users.iter().map(|u| u.len() + 24).sum::<usize>()
                        })
                        .sum::<usize>()
            }
            Entry::Change(c) => {
                c.text.as_ref().map_or(0, String::len) + c.emoji.as_ref().map_or(0, String::len)
            }
        }
    }
}

/// Encodes a `change` frame without cloning the change.
pub fn change_json(c: &Change) -> String {
    #[derive(serde::Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum ChangeRef<'a> {
        Change(&'a Change),
    }
    serde_json::to_string(&ChangeRef::Change(c)).unwrap_or_default()
}

/// What a change asks, before it has a `seq` (part of [`super::NewMessage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub target: u64,
    pub kind: ChangeKind,
    /// For `react` and `unreact`.
    pub emoji: Option<String>,
    /// The changer may delete anyone's message (see [`may_delete`]).
    pub moderator: bool,
    pub limits: ChangeLimits,
}

/// The per-message limits a store checks on the authoritative state (`--max-edits`,
/// `--max-reactions`: see `config::lifecycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLimits {
    pub edits: u32,
    pub reactions: u32,
}

impl Default for ChangeLimits {
    fn default() -> Self {
        ChangeLimits {
            edits: 100,
            reactions: 1_000,
        }
    }
}

/// Why a change or a reply was refused: nothing is stored and no `seq` is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No such message in the room (or no longer held), or it is deleted.
    #[error("no such message in this room")]
    NotFound,
    /// Not yours to change.
    #[error("{0}")]
    Forbidden(&'static str),
    /// A per-message limit is reached.
    #[error("{0}")]
    Limit(String),
}

/// Whether `user` may delete a message by `author`. The author may; `moderator` is true for
/// the room's moderators and the server's admins once rooms have roles (issue 18): the one
/// place that rule lives.
pub fn may_delete(user: &str, author: &str, moderator: bool) -> bool {
    user == author || moderator
}

/// Checks `change` by `user` against the target's stored state (`edits`: how many times it was
/// edited). `Ok(false)`: allowed but it changes nothing (a reaction given twice, or taken back
/// when it was not given): nothing is stored.
pub fn check(
    target: &ChatMessage,
    edits: u32,
    change: &NewChange,
    user: &str,
) -> Result<bool, Refusal> {
    if target.deleted {
        return Err(Refusal::NotFound);
    }
    let emoji = change.emoji.as_deref().unwrap_or_default();
    let given = |r: &Reaction| r.emoji == emoji && r.users.iter().any(|u| u == user);
    match change.kind {
        ChangeKind::Edit if target.user != user => {
            Err(Refusal::Forbidden("only its author may edit a message"))
        }
        ChangeKind::Edit if edits >= change.limits.edits => Err(Refusal::Limit(format!(
            "a message may be edited at most {} times (--max-edits)",
            change.limits.edits
        ))),
        ChangeKind::Edit => Ok(true),
        ChangeKind::Delete if !may_delete(user, &target.user, change.moderator) => Err(
            Refusal::Forbidden("only its author (or a moderator) may delete a message"),
        ),
        ChangeKind::Delete => Ok(true),
        ChangeKind::React if target.reactions.iter().any(given) => Ok(false),
        ChangeKind::React if reaction_count(target) >= change.limits.reactions as usize => {
            Err(Refusal::Limit(format!(
                "a message holds at most {} reactions (--max-reactions)",
                change.limits.reactions
            )))
        }
        ChangeKind::React => Ok(true),
        ChangeKind::Unreact => Ok(target.reactions.iter().any(given)),
        // Moderation entries have no target: the stores append them without a check (see
        // `crate::rooms`, where who may moderate is decided).
        _ => Ok(true),
    }
}

/// How many reactions (user and emoji pairs) a message holds.
pub fn reaction_count(m: &ChatMessage) -> usize {
    m.reactions.iter().map(|r| r.users.len()).sum()
}

/// Applies change `c` to its target `m` (idempotent: applying it again changes nothing).
pub fn fold(m: &mut ChatMessage, c: &Change) {
    if m.deleted {
        return;
    }
    match c.kind {
        ChangeKind::Edit => {
            if let Some(text) = &c.text {
                m.text.clone_from(text);
            }
            m.edited_ts = Some(c.ts);
        }
        ChangeKind::Delete => {
            m.deleted = true;
            m.text = String::new();
            m.reactions = Vec::new();
            m.files = Vec::new();
        }
        ChangeKind::React => {
            let emoji = c.emoji.as_deref().unwrap_or_default();
            match m.reactions.iter_mut().find(|r| r.emoji == emoji) {
                Some(r) if r.users.contains(&c.user) => {}
                Some(r) => r.users.push(c.user.clone()),
                None => m.reactions.push(Reaction {
                    emoji: emoji.to_owned(),
                    users: vec![c.user.clone()],
                }),
            }
        }
        ChangeKind::Unreact => {
            let emoji = c.emoji.as_deref().unwrap_or_default();
            if let Some(r) = m.reactions.iter_mut().find(|r| r.emoji == emoji) {
                r.users.retain(|u| *u != c.user);
            }
            m.reactions.retain(|r| !r.users.is_empty());
        }
        _ => {}
    }
}

/// Counts reply `r` on its thread's root `root` (not idempotent: apply once per reply, as the
/// store does in the reply's own append and the hub in its publish, which is once per `seq`).
pub fn fold_reply(root: &mut ChatMessage, r: &ChatMessage) {
    root.replies = Some(root.replies.unwrap_or(0) + 1);
    root.last_reply_ts = Some(root.last_reply_ts.unwrap_or(0).max(r.ts));
}

/// Erases what an earlier entry kept of a deleted message: an edit's text, a reaction's emoji
/// (who made the change stays, as the tombstone keeps its author). Returns whether it changed
/// anything.
pub fn erase(e: &mut Change, deleted: u64) -> bool {
    if e.target != deleted || e.kind == ChangeKind::Delete {
        return false;
    }
    let had = e.text.is_some() || e.emoji.is_some();
    e.text = None;
    e.emoji = None;
    had
}

/// The thread a reply to `parent` joins: the parent's own root when it is a reply itself.
pub fn thread_root(parent: &ChatMessage) -> u64 {
    parent.reply_to.unwrap_or(parent.seq)
}
