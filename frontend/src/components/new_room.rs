//! The "New room" dialog: a name (tidied like the join box: `Dev Team` → `dev-team`) and
//! public or private; `POST /api/rooms` makes the user its owner, then the room opens. A
//! refusal (the name is taken, the server has no private rooms for open names…) is said in the
//! dialog, which stays open.

use leptos::prelude::*;

use super::sidebar::focus_composer;
use crate::rooms_api::{self, refusal};
use crate::socket::use_chat;
use crate::state::{hash_for_room, room_name_hint, tidy_room_name};

/// The sidebar's "New room" button and its dialog.
#[component]
pub fn NewRoom(
    /// The phone drawer, closed once the room is open.
    drawer: RwSignal<bool>,
) -> impl IntoView {
    let chat = use_chat();
    let open = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let private = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if open.get()
            && let Some(el) = input.get()
        {
            let _ = el.focus();
        }
    });
    let close = move || {
        open.set(false);
        error.set(None);
    };
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && open.get_untracked() {
            close();
        }
    });
    on_cleanup(move || escape.remove());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = name.get_untracked();
        let room = tidy_room_name(&typed);
        let limits = chat.session.with_untracked(|s| s.limits.clone());
        if let Err(e) = limits.room(&room) {
            error.set(Some(room_name_hint(&typed, &e.message)));
            return;
        }
        let who = chat.session.with_untracked(|s| s.who());
        let private = private.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match rooms_api::create(&who, &room, private).await {
                Ok(()) => {
                    close();
                    name.set(String::new());
                    let _ = chat.switch_room(&room);
                    let _ = window().location().set_hash(&hash_for_room(&room));
                    drawer.set(false);
                    focus_composer();
                }
                Err(e) => error.set(Some(refusal(&e))),
            }
            busy.set(false);
        });
    };

    view! {
        <button type="button" id="new-room" class="link" on:click=move |_| open.set(true)>
            "+ New room"
        </button>
        <div class="dialog-backdrop" hidden=move || !open.get() on:click=move |_| close()></div>
        <form id="new-room-dialog" class="card dialog" role="dialog" aria-modal="true"
            aria-labelledby="new-room-title" hidden=move || !open.get() on:submit=submit novalidate>
            <h2 id="new-room-title">"New room"</h2>
            <label for="new-room-name">"Name"</label>
            <input id="new-room-name" type="text" node_ref=input autocomplete="off" spellcheck="false"
                placeholder="dev-team"
                aria-describedby="new-room-error"
                prop:value=move || name.get()
                on:input=move |ev| {
                    name.set(event_target_value(&ev));
                    error.set(None);
                }
            />
            <p class="hint">
                {move || {
                    let typed = name.get();
                    let tidy = tidy_room_name(&typed);
                    (!typed.trim().is_empty() && tidy != typed.trim())
                        .then(|| format!("It will be #{tidy}."))
                }}
            </p>
            <fieldset class="room-kind">
                <legend>"Who can join"</legend>
                <label>
                    <input type="radio" name="room-kind" id="new-room-private"
                        prop:checked=move || private.get() on:change=move |_| private.set(true) />
                    " Private: only the people you add can see it"
                </label>
                <label>
                    <input type="radio" name="room-kind" id="new-room-public"
                        prop:checked=move || !private.get() on:change=move |_| private.set(false) />
                    " Public: anyone on this server can join"
                </label>
            </fieldset>
            <p id="new-room-error" class="notice warn" aria-live="polite" hidden=move || error.with(Option::is_none)>
                {move || error.get()}
            </p>
            <div class="dialog-actions">
                <button type="submit" id="new-room-create" disabled=move || busy.get()>"Create room"</button>
                <button type="button" class="secondary" id="new-room-cancel" on:click=move |_| close()>"Cancel"</button>
            </div>
        </form>
    }
}
