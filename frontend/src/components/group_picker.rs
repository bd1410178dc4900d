//! "New group": pick people (the room's people and those the user has conversations with, or
//! any name typed) and start a group conversation with them (`POST /api/conversations`); it
//! opens at once and is kept like a room (see `state/groups.rs`). One person picked opens the
//! one-to-one conversation with them instead.

use leptos::prelude::*;

use super::sidebar::focus_composer;
use crate::rooms_api::{self, refusal};
use crate::socket::use_chat;
use crate::state::hash_for_room;

/// The button under Conversations and its dialog.
#[component]
pub fn GroupPicker(
    /// The phone drawer, closed once the conversation is open.
    drawer: RwSignal<bool>,
) -> impl IntoView {
    let chat = use_chat();
    let open = RwSignal::new(false);
    let picked = RwSignal::new(Vec::<String>::new());
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Everyone the user could pick: the room's people and their conversations' people.
    let candidates = Memo::new(move |_| {
        chat.session.with(|s| {
            let me = s.name.clone().unwrap_or_default();
            let mut all: Vec<String> = s
                .room_state(&s.room)
                .map(|r| r.users.clone())
                .unwrap_or_default();
            all.extend(s.conversations.all().iter().map(|c| c.peer.clone()));
            all.retain(|u| *u != me);
            all.sort_unstable();
            all.dedup();
            all
        })
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
    let toggle = move |name: String| {
        picked.update(|p| match p.iter().position(|n| *n == name) {
            Some(at) => {
                p.remove(at);
            }
            None => p.push(name),
        });
        error.set(None);
    };
    let add_typed = move || {
        let name = typed.get_untracked().trim().to_string();
        if !name.is_empty() && !picked.get_untracked().contains(&name) {
            picked.update(|p| p.push(name));
        }
        typed.set(String::new());
    };
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add_typed();
        let members = picked.get_untracked();
        if members.is_empty() {
            error.set(Some("Pick at least one person to write to.".into()));
            return;
        }
        if let [one] = members.as_slice() {
            // One person: their one-to-one conversation, not a group of two.
            match chat.open_dm(one) {
                Ok(()) => {
                    picked.set(Vec::new());
                    close();
                    drawer.set(false);
                    focus_composer();
                }
                Err(e) => error.set(Some(e)),
            }
            return;
        }
        let who = chat.session.with_untracked(|s| s.who());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match rooms_api::new_group(&who, &members).await {
                Ok(room) => {
                    let me = chat
                        .session
                        .with_untracked(|s| s.name.clone().unwrap_or_default());
                    let mut all = members.clone();
                    all.push(me);
                    chat.add_group(&room, &all);
                    let _ = chat.switch_room(&room);
                    let _ = window().location().set_hash(&hash_for_room(&room));
                    picked.set(Vec::new());
                    close();
                    drawer.set(false);
                    focus_composer();
                }
                Err(e) => error.set(Some(refusal(&e))),
            }
            busy.set(false);
        });
    };

    view! {
        <button type="button" id="new-group" class="link" on:click=move |_| open.set(true)>
            "+ New group"
        </button>
        <div class="dialog-backdrop" hidden=move || !open.get() on:click=move |_| close()></div>
        <form id="group-dialog" class="card dialog" role="dialog" aria-modal="true"
            aria-labelledby="group-title" hidden=move || !open.get() on:submit=start novalidate>
            <h2 id="group-title">"New group conversation"</h2>
            <p class="hint">"Pick the people to write to together."</p>
            <ul id="group-candidates" class="member-list">
                <For each=move || candidates.get() key=|n| n.clone() let:name>
                    {
                        let (n1, n2) = (name.clone(), name.clone());
                        view! {
                            <li data-user=name.clone()>
                                <label>
                                    <input type="checkbox"
                                        prop:checked=move || picked.with(|p| p.contains(&n1))
                                        on:change=move |_| toggle(n2.clone()) />
                                    " " {name.clone()}
                                </label>
                            </li>
                        }
                    }
                </For>
            </ul>
            <label for="group-add-name">"Someone else"</label>
            <input id="group-add-name" type="text" autocomplete="off" placeholder="Their name"
                prop:value=move || typed.get()
                on:input=move |ev| typed.set(event_target_value(&ev))
                on:keydown=move |ev| if ev.key() == "Enter" && !typed.get_untracked().trim().is_empty() {
                    ev.prevent_default();
                    add_typed();
                } />
            <p class="hint" id="group-picked">
                {move || match picked.get().len() {
                    0 => "Nobody picked yet.".to_string(),
                    _ => format!("With: {}", picked.get().join(", ")),
                }}
            </p>
            <p id="group-error" class="notice warn" aria-live="polite" hidden=move || error.with(Option::is_none)>
                {move || error.get()}
            </p>
            <div class="dialog-actions">
                <button type="submit" id="group-start" disabled=move || busy.get()>"Start conversation"</button>
                <button type="button" class="secondary" id="group-cancel" on:click=move |_| close()>"Cancel"</button>
            </div>
        </form>
    }
}
