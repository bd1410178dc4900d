//! "Browse rooms": the server's rooms (`GET /api/rooms`) the user is not in, to join with one
//! press.

use banter_protocol::http::RoomSummary;
use leptos::prelude::*;

use super::sidebar::focus_composer;
use crate::api;
use crate::socket::use_chat;
use crate::state::hash_for_room;

/// A button that lists the other rooms, each one a button to join it.
#[component]
pub fn RoomBrowser(
    /// The phone drawer, closed once a room is joined.
    drawer: RwSignal<bool>,
) -> impl IntoView {
    let chat = use_chat();
    let open = RwSignal::new(false);
    let listed = RwSignal::new(None::<Result<Vec<RoomSummary>, String>>);
    let others = move || {
        let mine = chat.session.with(|s| s.my_rooms.clone());
        listed.with(|l| match l {
            Some(Ok(rooms)) => Ok(rooms
                .iter()
                .filter(|r| !mine.contains(&r.room))
                .cloned()
                .collect::<Vec<_>>()),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(Vec::new()),
        })
    };
    let toggle = move |_| {
        let now_open = !open.get_untracked();
        open.set(now_open);
        if now_open {
            listed.set(None);
            leptos::task::spawn_local(async move { listed.set(Some(api::rooms().await)) });
        }
    };
    let join = move |room: String| {
        let _ = chat.switch_room(&room);
        let _ = window().location().set_hash(&hash_for_room(&room));
        open.set(false);
        drawer.set(false);
        focus_composer();
    };

    view! {
        <div class="browse">
            <button
                type="button"
                class="link"
                id="browse-rooms"
                aria-expanded=move || open.get().to_string()
                aria-controls="room-directory"
                on:click=toggle
            >
                {move || if open.get() { "Hide other rooms" } else { "Browse rooms" }}
            </button>
            <div id="room-directory" hidden=move || !open.get()>
                {move || match (listed.with(Option::is_none), others()) {
                    (true, _) => view! { <p class="side-hint">"Loading…"</p> }.into_any(),
                    (false, Err(e)) => view! { <p class="field-error">{e}</p> }.into_any(),
                    (false, Ok(rooms)) if rooms.is_empty() => {
                        view! { <p class="side-hint">"You are in every room."</p> }.into_any()
                    }
                    (false, Ok(rooms)) => {
                        view! {
                            <ul class="nav-list">
                                {rooms
                                    .into_iter()
                                    .map(|r| {
                                        let go = r.room.clone();
                                        view! {
                                            <li>
                                                <button
                                                    type="button"
                                                    class="nav-link join-room"
                                                    data-room=r.room.clone()
                                                    on:click=move |_| join(go.clone())
                                                >
                                                    <span class="nav-name">"#" {r.room.clone()}</span>
                                                    <span class="side-hint">{format!("{} here", r.users)}</span>
                                                </button>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                }}
            </div>
        </div>
    }
}
