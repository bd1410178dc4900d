//! The few HTTP calls the app makes (`fetch`, answers decoded with the protocol's types): the
//! room list and scrollback pages.

use banter_protocol::http::{MessagePage, RoomList, RoomSummary};
use leptos::prelude::window;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// How many older messages one scrollback page asks for.
pub const PAGE: usize = 200;

/// `GET path`, decoded; or a sentence for the user.
async fn get<T: DeserializeOwned>(path: &str) -> Result<T, String> {
    let resp = JsFuture::from(window().fetch_with_str(path))
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
pub async fn rooms() -> Result<Vec<RoomSummary>, String> {
    get::<RoomList>("/api/rooms").await.map(|l| l.rooms)
}

/// The [`PAGE`] messages of `room` just below `before` (`GET ...?before=`), oldest first.
pub async fn messages_before(room: &str, before: u64) -> Result<MessagePage, String> {
    get(&format!(
        "/api/rooms/{room}/messages?before={before}&limit={PAGE}"
    ))
    .await
}
