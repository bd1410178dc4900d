//! What the browser remembers for the user (localStorage): the name, the rooms they are in, the
//! sign-in token. Failures (private mode, storage disabled) only mean these are asked for (or
//! joined) again next time.

use leptos::prelude::window;

const NAME_KEY: &str = "banter.name";
const ROOMS_KEY: &str = "banter.rooms";
const TOKEN_KEY: &str = "banter.token";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The name chosen on an earlier visit.
pub fn load_name() -> Option<String> {
    storage()?.get_item(NAME_KEY).ok().flatten()
}

/// Remembers the user's name.
pub fn save_name(name: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(NAME_KEY, name);
    }
}

/// The rooms the user was in (room names cannot hold a space, so a space separates them).
pub fn load_rooms() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(ROOMS_KEY).ok().flatten())
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Remembers the rooms the user is in.
pub fn save_rooms(rooms: &[String]) {
    if let Some(s) = storage() {
        let _ = s.set_item(ROOMS_KEY, &rooms.join(" "));
    }
}

/// The sign-in token held, if any.
pub fn load_token() -> Option<String> {
    storage()?.get_item(TOKEN_KEY).ok().flatten()
}

/// Remembers (or, with `None`, forgets) the sign-in token.
pub fn save_token(token: Option<&str>) {
    if let Some(s) = storage() {
        let _ = match token {
            Some(t) => s.set_item(TOKEN_KEY, t),
            None => s.remove_item(TOKEN_KEY),
        };
    }
}
