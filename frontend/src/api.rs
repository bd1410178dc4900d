//! The few HTTP calls the app makes (`fetch`, answers decoded with the protocol's types): the
//! room list, the user's conversations and scrollback pages. On a token server every call
//! carries the token (`Authorization: Bearer`); on an open one, reading a conversation or the
//! list of them names the user (`?user=`).

use banter_protocol::http::{
    ConversationList, ConversationSummary, MessagePage, RoomList, RoomSummary,
};
use banter_protocol::is_conversation;
use leptos::prelude::window;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

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

/// `GET path`, decoded; or a sentence for the user.
async fn get<T: DeserializeOwned>(path: &str, who: &Who) -> Result<T, String> {
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
    let text = resp.text().map_err(|_| "no answer".to_string())?;
    let text = JsFuture::from(text)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|_| "the answer could not be read".to_string())
}

/// Every room on the server (`GET /api/rooms`).
pub async fn rooms(who: &Who) -> Result<Vec<RoomSummary>, String> {
    get::<RoomList>("/api/rooms", who).await.map(|l| l.rooms)
}

/// The user's private conversations, most recent first (`GET /api/conversations`).
pub async fn conversations(who: &Who) -> Result<Vec<ConversationSummary>, String> {
    let path = format!("/api/conversations{}", who.user_param('?'));
    get::<ConversationList>(&path, who)
        .await
        .map(|l| l.conversations)
}

/// The [`PAGE`] messages of `room` (or a conversation) just below `before` (`GET ...?before=`),
/// oldest first.
pub async fn messages_before(room: &str, before: u64, who: &Who) -> Result<MessagePage, String> {
    let user = if is_conversation(room) {
        who.user_param('&')
    } else {
        String::new()
    };
    get(
        &format!("/api/rooms/{room}/messages?before={before}&limit={PAGE}{user}"),
        who,
    )
    .await
}
