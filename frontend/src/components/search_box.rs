//! The search box: Ctrl+K (Cmd+K on a Mac) opens it over the chat. It is a quick switcher too:
//! the rooms and people whose name matches come first (`components/switcher.rs`; Enter opens the
//! first), then the messages found. Results come as the user
//! types (after a short pause, [`DEBOUNCE_MS`]) from `GET /api/search`, each with its snippet's
//! matches highlighted; filters narrow them to one of the user's rooms or to one person. A
//! click opens the room at that message (its surrounding history fetched when not held).
//! Escape closes the box. The rules (the query, the snippet) are `crate::search`'s.

use banter_protocol::http::SearchHit;
use leptos::prelude::*;

use super::switcher::{QuickList, open_target, quick_targets};
use crate::api;
use crate::search::{DEBOUNCE_MS, query, snippet_parts};
use crate::socket::{Chat, use_chat};
use crate::state::hash_for_room;

/// Where a search stands.
#[derive(Clone, PartialEq)]
enum Found {
    Idle,
    Searching,
    Hits(Vec<SearchHit>),
    Failed(String),
}

/// The search dialog and its keyboard shortcut.
#[component]
pub fn SearchBox() -> impl IntoView {
    let chat = use_chat();
    let open = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let person = RwSignal::new(String::new());
    let room = RwSignal::new(String::new());
    let found = RwSignal::new(Found::Idle);
    // Each change bumps it: an answer for an older one is dropped.
    let round = StoredValue::new(0u64);
    let input = NodeRef::<leptos::html::Input>::new();

    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let k = ev.key();
        if (ev.ctrl_key() || ev.meta_key()) && (k == "k" || k == "K") {
            ev.prevent_default();
            open.set(true);
            request_animation_frame(move || {
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                    el.select();
                }
            });
        } else if k == "Escape" && open.get_untracked() {
            open.set(false);
        }
    });
    on_cleanup(move || keys.remove());

    // Searches after a pause in typing, for the latest text and filters only.
    Effect::new(move |_| {
        let q = query(&typed.get(), &person.get());
        let in_room = room.get();
        round.update_value(|r| *r += 1);
        let mine = round.get_value();
        let Some(q) = q else {
            found.set(Found::Idle);
            return;
        };
        leptos::task::spawn_local(async move {
            crate::socket::sleep(DEBOUNCE_MS).await;
            if round.get_value() != mine {
                return;
            }
            found.set(Found::Searching);
            let who = chat.session.with_untracked(|s| s.who());
            let in_room = (!in_room.is_empty()).then_some(in_room.as_str());
            let answer = api::search(&q, in_room, &who).await;
            if round.get_value() == mine {
                found.set(match answer {
                    Ok(hits) => Found::Hits(hits),
                    Err(e) => Found::Failed(e),
                });
            }
        });
    });

    let quick = quick_targets(typed, open);
    let pick = Callback::new(move |t| {
        open.set(false);
        open_target(chat, &t);
    });
    // Enter: the first room or person matching, else the first message found.
    let on_enter = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        ev.prevent_default();
        if let Some(t) = quick.with_untracked(|q| q.first().cloned()) {
            pick.run(t);
        } else if let Found::Hits(hits) = found.get_untracked()
            && let Some(hit) = hits.into_iter().next()
        {
            open.set(false);
            jump(chat, hit.room, hit.seq);
        }
    };

    let rooms = Memo::new(move |_| chat.session.with(|s| s.my_rooms.clone()));
    let go = move |hit: SearchHit| {
        open.set(false);
        jump(chat, hit.room, hit.seq);
    };

    view! {
        <div id="search" class="search-overlay" hidden=move || !open.get()
            on:click=move |ev| {
                // A click on the backdrop (not inside the dialog) closes it.
                if ev.target() == ev.current_target() {
                    open.set(false);
                }
            }
        >
            <div class="search-dialog" role="dialog" aria-label="Go to a room or person, or search messages">
                <input
                    id="search-input"
                    type="search"
                    placeholder="Go to a room or person, or search messages (\"phrases\", from:name, in:room)"
                    autocomplete="off"
                    node_ref=input
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                    on:keydown=on_enter
                />
                <div class="search-filters">
                    <select
                        id="search-room"
                        aria-label="Only in room"
                        on:change=move |ev| room.set(event_target_value(&ev))
                    >
                        <option value="">"All rooms"</option>
                        {move || rooms.get().into_iter().map(|r| {
                            let label = format!("#{r}");
                            view! { <option value=r.clone()>{label}</option> }
                        }).collect_view()}
                    </select>
                    <input
                        id="search-person"
                        type="text"
                        placeholder="From person"
                        autocomplete="off"
                        prop:value=move || person.get()
                        on:input=move |ev| person.set(event_target_value(&ev))
                    />
                </div>
                <QuickList found=quick pick=pick />
                <ul id="search-results" class="search-results" aria-live="polite">
                    {move || match found.get() {
                        Found::Idle => view! { <li class="search-note">"Type to search."</li> }.into_any(),
                        Found::Searching => view! { <li class="search-note">"Searching…"</li> }.into_any(),
                        Found::Failed(e) => view! { <li class="search-note error">{format!("Search failed: {e}")}</li> }.into_any(),
                        Found::Hits(hits) if hits.is_empty() => view! { <li class="search-note">"No messages match."</li> }.into_any(),
                        Found::Hits(hits) => hits.into_iter().map(|hit| {
                            let place = format!("#{} · {}", hit.room, hit.user);
                            let parts = snippet_parts(&hit.snippet);
                            let (room, seq) = (hit.room.clone(), hit.seq);
                            view! {
                                <li class="search-hit" data-room=room data-seq=seq>
                                    <button type="button" on:click=move |_| go(hit.clone())>
                                        <span class="search-place">{place}</span>
                                        <span class="search-snippet">
                                            {parts.into_iter().map(|(text, mark)| if mark {
                                                view! { <mark>{text}</mark> }.into_any()
                                            } else {
                                                text.into_any()
                                            }).collect_view()}
                                        </span>
                                    </button>
                                </li>
                            }
                        }).collect_view().into_any(),
                    }}
                </ul>
            </div>
        </div>
    }
}

/// Opens `room` (or the conversation it is) at message `seq`: once the room is joined, the page
/// around it is fetched when not held (`before=` just past it: the messages before and after it),
/// then the list is asked to show it.
pub(super) fn jump(chat: Chat, room: String, seq: u64) {
    let peer = chat
        .session
        .with_untracked(|s| s.conversations.by_room(&room).map(|c| c.peer.clone()));
    match peer {
        Some(peer) => {
            let _ = chat.open_dm(&peer);
        }
        None => {
            let _ = chat.switch_room(&room);
            let _ = window().location().set_hash(&hash_for_room(&room));
        }
    }
    leptos::task::spawn_local(async move {
        // A room not joined yet takes no page: wait for its `joined` (a few seconds at most).
        // Its store exists from the `join` on, but a page taken before the `joined` would be
        // dropped by it (the first `joined` names the epoch: a reset).
        for _ in 0..100 {
            if chat.session.with_untracked(|s| s.is_joined(&room)) {
                break;
            }
            crate::socket::sleep(50.0).await;
        }
        let (held, who) = chat
            .session
            .with_untracked(|s| (s.store(&room).is_some_and(|st| st.contains(seq)), s.who()));
        let before = seq + api::PAGE as u64 / 2;
        if !held && let Ok(page) = api::messages_before(&room, before, &who).await {
            chat.session.update(|s| {
                s.add_before(&room, before, page);
            });
        }
        chat.session.update(|s| s.jump = Some((room, seq)));
    });
}
