//! What the browser remembers for the user (localStorage). Failures (private mode, storage
//! disabled) only mean the name is asked for again next time.

use leptos::prelude::window;

const NAME_KEY: &str = "banter.name";

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
