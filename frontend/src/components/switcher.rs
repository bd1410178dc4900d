//! The quick switcher inside the Ctrl/Cmd+K box: the rooms and people whose name matches what
//! is typed (the rules are `crate::switcher`'s), listed above the messages found. A click (or
//! Enter, for the first one) opens the room or the conversation.

use leptos::prelude::*;

use super::sidebar::focus_composer;
use crate::api;
use crate::socket::{Chat, use_chat};
use crate::state::hash_for_room;
use crate::switcher::{Target, targets};

/// The rooms and people matching `typed`, as they change. The server's rooms are read each time
/// the box opens (`open` turns true), beside the user's own rooms, conversations and the people
/// seen in their rooms.
pub fn quick_targets(typed: RwSignal<String>, open: RwSignal<bool>) -> Memo<Vec<Target>> {
    let chat = use_chat();
    let server_rooms = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        if !open.get() {
            return;
        }
        let who = chat.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            if let Ok(rooms) = api::rooms(&who).await {
                server_rooms.set(rooms.into_iter().map(|r| r.room).collect());
            }
        });
    });
    Memo::new(move |_| {
        let typed = typed.get();
        let others = server_rooms.get();
        chat.session.with(|s| {
            let mut rooms = s.my_rooms.clone();
            rooms.extend(others.into_iter().filter(|r| !s.my_rooms.contains(r)));
            let mut people: Vec<String> = s
                .conversations
                .all()
                .iter()
                .map(|c| c.peer.clone())
                .collect();
            for room in &s.my_rooms {
                if let Some(state) = s.room_state(room) {
                    people.extend(state.users.iter().cloned());
                }
            }
            targets(&typed, &rooms, &people, s.name.as_deref())
        })
    })
}

/// Opens `target`: the room (joining it when new) or the conversation with the person.
pub fn open_target(chat: Chat, target: &Target) {
    match target {
        Target::Room(room) => {
            if chat.switch_room(room).is_ok() {
                let _ = window().location().set_hash(&hash_for_room(room));
            }
        }
        Target::Person(peer) => {
            let _ = chat.open_dm(peer);
        }
    }
    focus_composer();
}

/// The list of rooms and people matching, above the search results.
#[component]
pub fn QuickList(
    /// What matches now.
    found: Memo<Vec<Target>>,
    /// Called with the target picked.
    pick: Callback<Target>,
) -> impl IntoView {
    view! {
        <ul id="quick-results" class="search-results quick-results" aria-label="Rooms and people"
            hidden=move || found.with(Vec::is_empty)
        >
            <For
                each=move || found.get()
                key=Target::key
                children=move |t| {
                    let (kind, label) = match &t {
                        Target::Room(r) => ("room", format!("#{r}")),
                        Target::Person(p) => ("person", format!("@{p}")),
                    };
                    let key = t.key();
                    view! {
                        <li class="quick-hit" data-kind=kind data-target=key>
                            <button type="button" on:click=move |_| pick.run(t.clone())>
                                {label}
                            </button>
                        </li>
                    }
                }
            />
        </ul>
    }
}
