//! The v1.2 room calls of the web app (docs/protocol.md, "Private rooms and moderation"):
//! create a room, make it private or public, list its members, add one or change a role, remove, ban, mute (and undo a
//! ban or a mute). Each refusal comes back as a sentence that says what happened and what to
//! do, from the status and the server's own words ([`refusal`]).

use banter_protocol::RoomRole;
use banter_protocol::http::SetPrivacy;
use wasm_bindgen::JsValue;

use crate::accounts::{Failed, body, call, field, text};
use crate::api::Who;

/// One member as the settings panel shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: String,
    pub role: RoomRole,
    pub muted: bool,
}

/// A role as the wire spells it.
pub fn role_name(role: RoomRole) -> &'static str {
    match role {
        RoomRole::Member => "member",
        RoomRole::Moderator => "moderator",
        RoomRole::Owner => "owner",
    }
}

fn role_of(name: &str) -> RoomRole {
    match name {
        "owner" => RoomRole::Owner,
        "moderator" => RoomRole::Moderator,
        _ => RoomRole::Member,
    }
}

/// The sentence for a refused call.
pub fn refusal(f: &Failed) -> String {
    let said = &f.message;
    match f.status {
        0 => "The server could not be reached: check the connection, then try again.".into(),
        401 => "Your session has ended: sign in again, then try again.".into(),
        403 => format!(
            "Not allowed ({said}): only the room's owners and moderators, or a server admin, may do that."
        ),
        404 => format!("Not found ({said}): check the name."),
        409 => format!("Already done ({said})."),
        429 => "Too many requests: wait a moment, then try again.".into(),
        _ => format!("Refused: {said}."),
    }
}

fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

/// `path` as `who` asks it (`?user=` on an open server, the token otherwise).
async fn ask(who: &Who, method: &str, path: &str, json: Option<String>) -> Result<JsValue, Failed> {
    let path = match (&who.token, &who.name) {
        (None, Some(name)) => format!("{path}?user={}", enc(name)),
        _ => path.to_string(),
    };
    call(method, &path, json, who.token.as_deref()).await
}

/// `POST /api/rooms`: a new room whose creator is its owner.
pub async fn create(who: &Who, room: &str, private: bool) -> Result<(), Failed> {
    let b = body(&[("room", room.into()), ("private", private.into())]);
    ask(who, "POST", "/api/rooms", Some(b)).await.map(|_| ())
}

/// `PATCH /api/rooms/{room}` with `SetPrivacy` (owners and server admins): makes the room
/// private (everyone present becomes a member) or public; whether it is private now.
pub async fn set_privacy(who: &Who, room: &str, private: bool) -> Result<bool, Failed> {
    let b = serde_json::to_string(&SetPrivacy { private }).unwrap_or_default();
    // `201 {"room", "seq"}` with the entry's `seq`, or `200` when it already was so: either
    // way the room is now as asked.
    ask(who, "PATCH", &format!("/api/rooms/{}", enc(room)), Some(b)).await?;
    Ok(private)
}

/// A room's members and who is banned from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    pub members: Vec<Member>,
    pub banned: Vec<String>,
    pub private: bool,
}

/// `GET /api/rooms/{room}/members`.
pub async fn members(who: &Who, room: &str) -> Result<Members, Failed> {
    let v = ask(
        who,
        "GET",
        &format!("/api/rooms/{}/members", enc(room)),
        None,
    )
    .await?;
    // Absent when empty (and `Array.from(null)` throws): only a present field is read.
    let banned = field(&v, "banned").map(|b| js_sys::Array::from(&b));
    Ok(Members {
        members: member_list(&v),
        banned: banned
            .map(|b| b.iter().filter_map(|b| b.as_string()).collect())
            .unwrap_or_default(),
        private: field(&v, "private")
            .and_then(|p| p.as_bool())
            .unwrap_or(false),
    })
}

fn member_list(v: &JsValue) -> Vec<Member> {
    let Some(list) = field(v, "members") else {
        return Vec::new();
    };
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|m| {
            Some(Member {
                user: text(&m, "user")?,
                role: role_of(&text(&m, "role").unwrap_or_default()),
                muted: field(&m, "muted")
                    .and_then(|b| b.as_bool())
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// What an owner or moderator does to `user` in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add as (or change to) this role.
    Role(RoomRole),
    Remove,
    Ban,
    Unban,
    Mute,
    Unmute,
}

/// Does `action` to `user` in `room`.
pub async fn act(who: &Who, room: &str, user: &str, action: Action) -> Result<(), Failed> {
    let (room, user) = (enc(room), enc(user));
    let (method, what, json) = match action {
        Action::Role(r) => (
            "PUT",
            "members",
            Some(body(&[("role", role_name(r).into())])),
        ),
        Action::Remove => ("DELETE", "members", None),
        Action::Ban => ("PUT", "bans", Some("{}".to_string())),
        Action::Unban => ("DELETE", "bans", None),
        Action::Mute => ("PUT", "mutes", Some("{}".to_string())),
        Action::Unmute => ("DELETE", "mutes", None),
    };
    let path = format!("/api/rooms/{room}/{what}/{user}");
    ask(who, method, &path, json).await.map(|_| ())
}

/// `POST /api/conversations` `{"members"}`: a group conversation of these people and the
/// caller; its id (`grp-…`).
pub async fn new_group(who: &Who, members: &[String]) -> Result<String, Failed> {
    let list = js_sys::Array::new();
    for m in members {
        list.push(&JsValue::from_str(m));
    }
    let b = body(&[("members", list.into())]);
    let v = ask(who, "POST", "/api/conversations", Some(b)).await?;
    text(&v, "room").ok_or_else(|| Failed {
        status: 0,
        message: "the answer named no conversation".into(),
    })
}
