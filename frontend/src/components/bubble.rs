//! One chat message as a bubble: who, what, when. The text is a text node, never HTML.

use std::sync::Arc;

use banter_protocol::ChatMessage;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

/// A stored message.
#[component]
pub fn Bubble(
    /// The message to show.
    msg: Arc<ChatMessage>,
    /// Whether the current user wrote it (shown on the other side, in the accent colour).
    own: bool,
) -> impl IntoView {
    let (short, full) = local_time(msg.ts);
    view! {
        <li class="msg" class:own=own data-seq=msg.seq>
            <div class="meta">
                <span class="msg-user">{msg.user.clone()}</span>
                <time class="msg-time" title=full>
                    {short}
                </time>
            </div>
            <p class="msg-text">{msg.text.clone()}</p>
        </li>
    }
}

/// `HH:MM` and `YYYY-MM-DD HH:MM:SS` in the browser's time zone.
pub(crate) fn local_time(ts: u64) -> (String, String) {
    let d = js_sys::Date::new(&JsValue::from_f64(ts as f64));
    let short = format!("{:02}:{:02}", d.get_hours(), d.get_minutes());
    let full = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    );
    (short, full)
}
