//! A small form to join (or create) a room by name; it sets the address, `#/r/NAME`. The
//! server's other rooms (`GET /api/rooms`, fetched when the field gets focus) are offered as
//! suggestions to browse. Its error shows below it, in the sidebar, never in the top bar.

use leptos::prelude::*;

use super::sidebar::focus_composer;
use crate::api;
use crate::socket::use_chat;
use crate::state::{hash_for_room, room_name_hint, tidy_room_name};

/// Joins a room: type its name, press Enter.
#[component]
pub fn RoomSwitcher(
    /// The phone drawer, closed once the room is open.
    drawer: RwSignal<bool>,
) -> impl IntoView {
    let chat = use_chat();
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // The server's rooms the user is not in, as "name (N here)" suggestions.
    let others = RwSignal::new(Vec::<(String, String)>::new());
    let browse = move |_| {
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            let Ok(rooms) = api::rooms(&who).await else {
                return;
            };
            let mine = chat.session.with_untracked(|s| s.my_rooms.clone());
            others.set(
                rooms
                    .into_iter()
                    .filter(|r| !mine.contains(&r.room))
                    .map(|r| (r.room, format!("{} here", r.users)))
                    .collect(),
            );
        });
    };

    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // "#general" and "Dev Team" mean `general` and `dev-team`; anything else is explained.
        let typed = value.get_untracked();
        let room = tidy_room_name(&typed);
        let limits = chat.session.with_untracked(|s| s.limits.clone());
        match limits.room(&room) {
            Ok(room) => {
                error.set(None);
                value.set(String::new());
                let _ = chat.switch_room(room);
                let _ = window().location().set_hash(&hash_for_room(room));
                drawer.set(false);
                focus_composer();
            }
            Err(e) => error.set(Some(room_name_hint(&typed, &e.message))),
        }
    };

    view! {
        <form class="room-switch" on:submit=go>
            <label for="room-input" class="visually-hidden">
                "Join or create a room"
            </label>
            <input
                id="room-input"
                type="text"
                placeholder="Join or find a room…"
                list="room-options"
                on:focus=browse
                autocomplete="off"
                spellcheck="false"
                aria-describedby="room-error"
                aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    error.set(None);
                }
            />
            <datalist id="room-options">
                {move || {
                    others
                        .get()
                        .into_iter()
                        .map(|(room, label)| view! { <option value=room label=label></option> })
                        .collect_view()
                }}
            </datalist>
            <button type="submit" class="secondary" id="room-go">
                "Go"
            </button>
            <p id="room-error" class="field-error" aria-live="polite">
                {move || error.get()}
            </p>
        </form>
    }
}
