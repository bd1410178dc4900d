//! The few HTTP calls the app makes (`fetch`, answers read into the protocol's types): the
//! room list, the user's conversations and scrollback pages. On a token server every call
//! carries the token (`Authorization: Bearer`); on an open one, reading a conversation or the
//! list of them names the user (`?user=`).

use banter_protocol::http::{ConversationSummary, MessagePage, RoomSummary, SearchHit};
use banter_protocol::is_conversation;
use leptos::prelude::window;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

mod lifecycle;

pub use lifecycle::thread;

/// How many older messages one scrollback page asks for.
pub const PAGE: usize = 200;

/// Who is asking: the token held, else the user's name.
#[derive(Debug, Clone, Default)]
pub struct Who {
    pub token: Option<String>,
    pub name: Option<String>,
}

impl Who {
    /// `?user=NAME` (or `&…` after `sep`) for an open server; nothing with a token.
    fn user_param(&self, sep: char) -> String {
        match (&self.token, &self.name) {
            (None, Some(name)) => {
                let name: String = js_sys::encode_uri_component(name).into();
                format!("{sep}user={name}")
            }
            _ => String::new(),
        }
    }
}

/// `GET path` answered with a success, or a sentence for the user.
async fn fetch_ok(path: &str, who: &Who) -> Result<web_sys::Response, String> {
    let init = web_sys::RequestInit::new();
    if let Some(token) = &who.token {
        let headers = web_sys::Headers::new().map_err(|_| "no headers".to_string())?;
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(|_| "no headers".to_string())?;
        init.set_headers(&headers);
    }
    let resp = JsFuture::from(window().fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| "the server could not be reached".to_string())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "no answer".to_string())?;
    if !resp.ok() {
        return Err(format!("the server answered {}", resp.status()));
    }
    Ok(resp)
}

/// `GET path`: the answer's JSON as the browser parsed it, or a sentence for the user.
async fn get(path: &str, who: &Who) -> Result<JsValue, String> {
    let resp = fetch_ok(path, who).await?;
    let json = resp.json().map_err(|_| "no answer".to_string())?;
    JsFuture::from(json)
        .await
        .map_err(|_| "the answer could not be read".to_string())
}

// The answers are read from the browser's `JSON.parse` into the protocol's types, field by
// field: a serde decoder per answer type costs several KB of WASM each (measured: about 6 KB
// for the conversation list alone), and the app has a size budget. An entry missing a field, or
// with one of the wrong type, is skipped.

/// The value of `key` in the object `v`.
fn field(v: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(v, &key.into())
        .ok()
        .filter(|f| !f.is_undefined() && !f.is_null())
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    field(v, key)?.as_string()
}

/// A non-negative whole number (JSON numbers are doubles: exact up to 2^53).
fn number(v: &JsValue, key: &str) -> Option<u64> {
    field(v, key)?
        .as_f64()
        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
        .map(|n| n as u64)
}

/// The entries of the array `key` in `v` that `read` accepts.
fn list<T>(v: &JsValue, key: &str, read: impl Fn(&JsValue) -> Option<T>) -> Vec<T> {
    field(v, key).map_or_else(Vec::new, |a| {
        js_sys::Array::from(&a)
            .iter()
            .filter_map(|e| read(&e))
            .collect()
    })
}

/// Every room on the server (`GET /api/rooms`).
pub async fn rooms(who: &Who) -> Result<Vec<RoomSummary>, String> {
    Ok(read_rooms(&get("/api/rooms", who).await?))
}

/// The user's private conversations, most recent first (`GET /api/conversations`).
pub async fn conversations(who: &Who) -> Result<Vec<ConversationSummary>, String> {
    let path = format!("/api/conversations{}", who.user_param('?'));
    Ok(read_conversations(&get(&path, who).await?))
}

/// The [`PAGE`] messages of `room` (or a conversation) just below `before` (`GET ...?before=`),
/// oldest first.
pub async fn messages_before(room: &str, before: u64, who: &Who) -> Result<MessagePage, String> {
    let user = if is_conversation(room) {
        who.user_param('&')
    } else {
        String::new()
    };
    let path = format!("/api/rooms/{room}/messages?before={before}&limit={PAGE}{user}");
    read_page(&get(&path, who).await?).ok_or_else(|| "the answer could not be read".to_string())
}

/// Messages matching `q` (`GET /api/search`), best first, in `room` only when given.
pub async fn search(q: &str, room: Option<&str>, who: &Who) -> Result<Vec<SearchHit>, String> {
    let q: String = js_sys::encode_uri_component(q).into();
    let room = room.map_or_else(String::new, |r| format!("&room={r}"));
    let limit = crate::search::LIMIT;
    let path = format!(
        "/api/search?q={q}{room}&limit={limit}{}",
        who.user_param('&')
    );
    let json = get(&path, who).await?;
    Ok(list(&json, "results", |h| {
        Some(SearchHit {
            room: text(h, "room")?,
            seq: number(h, "seq")?,
            user: text(h, "user")?,
            text: text(h, "text")?,
            ts: number(h, "ts")?,
            snippet: text(h, "snippet")?,
        })
    }))
}

/// A [`RoomList`](banter_protocol::http::RoomList)'s rooms.
fn read_rooms(json: &JsValue) -> Vec<RoomSummary> {
    list(json, "rooms", |r| {
        Some(RoomSummary {
            room: text(r, "room")?,
            head: number(r, "head")?,
            users: number(r, "users")? as usize,
            private: field(r, "private")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        })
    })
}

/// A [`ConversationList`](banter_protocol::http::ConversationList)'s conversations.
fn read_conversations(json: &JsValue) -> Vec<ConversationSummary> {
    list(json, "conversations", |c| {
        Some(ConversationSummary {
            room: text(c, "room")?,
            with: text(c, "with")?,
            head: number(c, "head")?,
            ts: number(c, "ts")?,
            members: Vec::new(),
        })
    })
}

/// A [`MessagePage`] (`None` without its `room` or `complete`).
fn read_page(json: &JsValue) -> Option<MessagePage> {
    Some(MessagePage {
        room: text(json, "room")?,
        messages: list(json, "messages", lifecycle::read_message),
        complete: field(json, "complete")?.as_bool()?,
        epoch: text(json, "epoch").unwrap_or_default(),
        changes: lifecycle::read_changes(json),
    })
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests;
