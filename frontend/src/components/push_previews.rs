//! "Show message text in notifications": the user's previews setting for pushes (kept by the
//! server for all their devices: `PUT /api/push/settings`). Off, a push says only the room and
//! how many messages. Shown only where the browser can receive pushes and allows notifications.

use leptos::prelude::*;

use crate::push;
use crate::socket::use_chat;

/// The previews checkbox.
#[component]
pub fn PushPreviews() -> impl IntoView {
    let chat = use_chat();
    let on = RwSignal::new(true);
    let shown = push::supported() && crate::notify::allowed();
    if shown {
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            if let Ok(previews) = push::previews(&who).await {
                on.set(previews);
            }
        });
    }
    let change = move |_| {
        let now = !on.get_untracked();
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            if push::set_previews(now, &who).await.is_ok() {
                on.set(now);
            }
        });
    };
    view! {
        <label class="small" hidden=!shown>
            <input type="checkbox" id="push-previews" prop:checked=move || on.get() on:change=change />
            " Show message text in notifications"
        </label>
    }
}
