//! "Mute notifications" for the room or conversation on screen: no Web Push from it for this
//! user on any device (the server keeps the list: `PUT`/`DELETE /api/push/mutes/{room}`). Shown
//! only where the browser can receive pushes.

use leptos::prelude::*;

use crate::push;
use crate::socket::use_chat;

/// The per-room mute button.
#[component]
pub fn MuteToggle() -> impl IntoView {
    let chat = use_chat();
    let muted = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<String>);
    let who = chat.session.with_untracked(|s| s.who());
    if push::supported() {
        leptos::task::spawn_local(async move {
            if let Ok(list) = push::muted(&who).await {
                muted.set(list);
            }
        });
    }
    let room = Memo::new(move |_| chat.session.with(|s| s.screen_room().map(str::to_owned)));
    let is_muted = Memo::new(move |_| room.get().is_some_and(|r| muted.with(|m| m.contains(&r))));
    let toggle = move |_| {
        let Some(r) = room.get_untracked() else {
            return;
        };
        let now = !is_muted.get_untracked();
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            match push::set_muted(&r, now, &who).await {
                Ok(()) => {
                    error.set(None);
                    muted.update(|m| {
                        m.retain(|x| *x != r);
                        if now {
                            m.push(r);
                        }
                    });
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <button
            type="button"
            id="mute-toggle"
            class="secondary small"
            hidden=move || !push::supported() || room.with(Option::is_none)
            aria-pressed=move || is_muted.get().to_string()
            title=move || error.get().unwrap_or_default()
            on:click=toggle
        >
            {move || if is_muted.get() { "Unmute notifications" } else { "Mute notifications" }}
        </button>
    }
}
