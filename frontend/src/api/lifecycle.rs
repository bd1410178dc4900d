//! v1.2 "Message lifecycle" over HTTP: messages read with their folded state (edited text,
//! `edited_ts`, `deleted`, `reactions`, `reply_to`, `replies`), a page's change entries, and
//! a thread (`GET /api/rooms/{room}/threads/{seq}`). Read field by field like the rest of
//! [`crate::api`] (a serde decoder per type would cost the WASM budget).

use banter_protocol::http::ThreadPage;
use banter_protocol::{Change, ChangeKind, ChatMessage, Reaction, is_conversation};
use wasm_bindgen::JsValue;

use super::{Who, field, get, list, number, text};

/// A message with its folded state (`None` without one of its v1 fields).
pub(super) fn read_message(m: &JsValue) -> Option<ChatMessage> {
    Some(ChatMessage {
        room: text(m, "room")?,
        seq: number(m, "seq")?,
        id: text(m, "id")?,
        user: text(m, "user")?,
        text: text(m, "text")?,
        ts: number(m, "ts")?,
        reply_to: number(m, "reply_to"),
        edited_ts: number(m, "edited_ts"),
        deleted: field(m, "deleted")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        reactions: list(m, "reactions", |r| {
            Some(Reaction {
                emoji: text(r, "emoji")?,
                users: list(r, "users", JsValue::as_string),
            })
        }),
        replies: number(m, "replies"),
        last_reply_ts: number(m, "last_reply_ts"),
        files: list(m, "files", super::files::read_file),
    })
}

/// A page's change entries (those of an unknown kind are skipped).
pub(super) fn read_changes(json: &JsValue) -> Vec<Change> {
    list(json, "changes", |c| {
        let kind = match text(c, "kind")?.as_str() {
            "edit" => ChangeKind::Edit,
            "delete" => ChangeKind::Delete,
            "react" => ChangeKind::React,
            "unreact" => ChangeKind::Unreact,
            _ => return None,
        };
        Some(Change {
            room: text(c, "room")?,
            seq: number(c, "seq")?,
            target: number(c, "target")?,
            user: text(c, "user")?,
            ts: number(c, "ts")?,
            kind,
            text: text(c, "text"),
            emoji: text(c, "emoji"),
        })
    })
}

/// The thread rooted at `seq` in `room`: the root and its replies, folded.
pub async fn thread(room: &str, seq: u64, who: &Who) -> Result<ThreadPage, String> {
    let user = if is_conversation(room) {
        who.user_param('?')
    } else {
        String::new()
    };
    let json = get(&format!("/api/rooms/{room}/threads/{seq}{user}"), who).await?;
    let unreadable = || "the answer could not be read".to_string();
    Ok(ThreadPage {
        room: text(&json, "room").ok_or_else(unreadable)?,
        root: field(&json, "root")
            .and_then(|r| read_message(&r))
            .ok_or_else(unreadable)?,
        replies: list(&json, "replies", read_message),
        epoch: text(&json, "epoch").unwrap_or_default(),
    })
}
