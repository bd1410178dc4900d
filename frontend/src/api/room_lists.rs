//! The user's room list kept by the server (`GET /api/me/rooms`, `PUT` / `DELETE
//! /api/me/rooms/{room}`), so every device and every reload shows the same rooms.

use leptos::prelude::window;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{Who, get, list};

/// The rooms on the user's list, in the order they joined them.
pub async fn my_rooms(who: &Who) -> Result<Vec<String>, String> {
    let path = format!("/api/me/rooms{}", who.user_param('?'));
    Ok(list(&get(&path, who).await?, "rooms", |r| r.as_string()))
}

/// Puts `room` on the user's list (`on`) or takes it off.
pub async fn set_my_room(room: &str, on: bool, who: &Who) -> Result<(), String> {
    let path = format!("/api/me/rooms/{room}{}", who.user_param('?'));
    let init = web_sys::RequestInit::new();
    init.set_method(if on { "PUT" } else { "DELETE" });
    if let Some(token) = &who.token {
        let headers = web_sys::Headers::new().map_err(|_| "no headers".to_string())?;
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(|_| "no headers".to_string())?;
        init.set_headers(&headers);
    }
    let resp = JsFuture::from(window().fetch_with_str_and_init(&path, &init))
        .await
        .map_err(|_| "the server could not be reached".to_string())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "no answer".to_string())?;
    if resp.ok() {
        Ok(())
    } else {
        Err(format!("the server answered {}", resp.status()))
    }
}
