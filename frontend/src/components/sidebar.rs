//! The sidebar: the user's rooms with unread and mention badges, joining and browsing rooms,
//! conversations, and who is in the room on screen. On a phone it is a drawer.

use leptos::prelude::*;

use super::{GroupPicker, NewRoom, RoomSwitcher};
use crate::notify;
use crate::socket::use_chat;
use crate::state::{Session, hash_for_room, is_group};

/// One room in the list, as the view needs it.
#[derive(Clone, PartialEq)]
struct RoomItem {
    room: String,
    unread: u32,
    mentions: u32,
    active: bool,
}

/// Moves keyboard focus to the composer (after choosing where to write).
pub(crate) fn focus_composer() {
    request_animation_frame(|| focus_first("#composer-input"));
}

/// Focuses the first element matching `selector`, if any.
fn focus_first(selector: &str) {
    if let Ok(Some(el)) = document().query_selector(selector)
        && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
    {
        let _ = el.focus();
    }
}

/// A count as a badge (nothing when 0), read out as "N what".
fn badge(class: &'static str, mark: &'static str, n: u32, what: &'static str) -> impl IntoView {
    (n > 0).then(|| {
        view! {
            <span class=format!("badge {class}") aria-hidden="true">{mark} {n}</span>
            <span class="visually-hidden">{format!(", {n} {what}")}</span>
        }
    })
}

/// A room's name with its unread and mention badges.
fn room_label(i: &RoomItem) -> impl IntoView + use<> {
    view! {
        <span class="nav-name">"#" {i.room.clone()}</span>
        {badge("mention", "@", i.mentions, "mentioning you")}
        {badge("unread", "", i.unread, "unread")}
    }
}

/// A group conversation in the list: its members' names and unread count.
fn group_item(
    group: String,
    show: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let chat = use_chat();
    let (this, go) = (group.clone(), group.clone());
    let item = move || {
        chat.session.with(|s| {
            let unread = s.room_state(&this).map_or(0, |r| r.unread);
            let active = s.dm.is_none() && s.room == this;
            (s.group_label(&this), unread, active)
        })
    };
    let (i1, i2) = (item.clone(), item.clone());
    view! {
        <li class="nav-item group" class:active=move || i1().2 data-room=group.clone()>
            <button type="button" class="nav-link" aria-current=move || i2().2.then_some("page")
                on:click=move |_| show(go.clone())>
                {move || {
                    let (label, unread, _) = item();
                    view! {
                        <span class="nav-name">{label}</span>
                        {badge("unread", "", unread, "unread")}
                    }
                }}
            </button>
        </li>
    }
}

/// The rooms, conversations and people.
#[component]
pub fn Sidebar(
    /// Whether the phone drawer is open.
    drawer: RwSignal<bool>,
) -> impl IntoView {
    let chat = use_chat();
    // Keyed by name alone, with the counts reactive inside: a count that moves never re-creates
    // the row, so keyboard focus stays on it.
    // Group conversations are listed under Conversations, not here.
    let rooms = Memo::new(move |_| {
        chat.session.with(|s| {
            s.my_rooms
                .iter()
                .filter(|r| !is_group(r))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let groups = Memo::new(move |_| chat.session.with(Session::groups));
    let room_item = move |room: &str| {
        chat.session.with(|s| {
            let r = s.room_state(room);
            RoomItem {
                room: room.to_string(),
                unread: r.map_or(0, |r| r.unread),
                mentions: r.map_or(0, |r| r.mentions),
                active: s.dm.is_none() && s.room == room,
            }
        })
    };
    let conversations = Memo::new(move |_| {
        chat.session.with(|s| {
            s.conversations
                .all()
                .iter()
                .map(|c| c.peer.clone())
                .collect::<Vec<_>>()
        })
    });
    // (unread, on screen); the counts live in the conversation's room state, once its id is
    // known.
    let conversation_item = move |peer: &str| {
        chat.session.with(|s| {
            let unread = s
                .conversations
                .get(peer)
                .and_then(|c| s.room_state(c.room.as_deref()?))
                .map_or(0, |r| r.unread);
            (unread, s.dm.as_deref() == Some(peer))
        })
    };
    let me = Memo::new(move |_| chat.session.with(|s| s.name.clone().unwrap_or_default()));
    let people = Memo::new(move |_| {
        // The room's people, also while a conversation is open (to start another one).
        chat.session
            .with(|s| s.room_state(&s.room).map(|r| r.users.clone()))
            .unwrap_or_default()
    });
    let room = Memo::new(move |_| chat.session.with(|s| s.room.clone()));
    let name = Memo::new(move |_| chat.session.with(|s| s.name.clone()));
    let signed_in = Memo::new(move |_| chat.session.with(|s| s.signed_in.is_some()));
    let token_held = Memo::new(move |_| chat.session.with(|s| s.token.is_some()));
    let open_server = Memo::new(move |_| {
        chat.session
            .with(|s| s.server_seen && s.auth == banter_protocol::AuthMode::Open)
    });
    // Said when the browser answers "no", or already says it at load (the button goes: only
    // the site settings can undo it).
    let denied = RwSignal::new(notify::blocked());
    // Offer notifications only where the browser still has to ask.
    let can_ask = RwSignal::new(notify::undecided());

    // Opening the drawer moves focus into it; Escape closes it and gives focus back to its
    // button.
    Effect::new(move |was_open: Option<bool>| {
        let open = drawer.get();
        if open && was_open == Some(false) {
            request_animation_frame(|| focus_first("#sidebar .nav-link"));
        }
        open
    });
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && drawer.get_untracked() {
            drawer.set(false);
            focus_first("#menu-toggle");
        }
    });
    on_cleanup(move || escape.remove());

    let show_room = move |room: String| {
        // Setting the address switches (and a click on the room already addressed, with a
        // conversation on screen, switches back directly).
        let _ = chat.switch_room(&room);
        let _ = window().location().set_hash(&hash_for_room(&room));
        drawer.set(false);
        focus_composer();
    };
    let open_dm = move |peer: String| {
        if chat.open_dm(&peer).is_ok() {
            drawer.set(false);
            focus_composer();
        }
    };

    view! {
        <div class="backdrop" hidden=move || !drawer.get() on:click=move |_| drawer.set(false)></div>
        <aside
            id="sidebar"
            class="sidebar"
            class:open=move || drawer.get()
            aria-label="Rooms and people"
        >
            // Phones only (the drawer): a way out that is not the backdrop or Escape.
            <button
                type="button"
                id="drawer-close"
                class="icon drawer-close"
                aria-label="Close the menu"
                on:click=move |_| {
                    drawer.set(false);
                    focus_first("#menu-toggle");
                }
            >
                "×"
            </button>
            <nav aria-labelledby="rooms-heading">
                <h2 id="rooms-heading">"Rooms"</h2>
                <button
                    type="button"
                    id="mark-all-read"
                    class="link mark-all-read"
                    hidden=move || chat.session.with(|s| s.unread_total() == 0)
                    on:click=move |_| chat.mark_all_read()
                >
                    "Mark all read"
                </button>
                <ul id="room-list" class="nav-list">
                    {move || {
                        rooms.get()
                            .into_iter()
                            .map(|room| {
                            let (go, leave, me) = (room.clone(), room.clone(), room.clone());
                            let this = room.clone();
                            let active = move || room_item(&this).active;
                            let current = active.clone();
                            view! {
                                <li class="nav-item" class:active=active data-room=room.clone()>
                                    <a
                                        class="nav-link"
                                        href=hash_for_room(&room)
                                        aria-current=move || current().then_some("page")
                                        on:click=move |ev| {
                                            ev.prevent_default();
                                            show_room(go.clone());
                                        }
                                    >
                                        {move || room_label(&room_item(&me))}
                                    </a>
                                    <button
                                        type="button"
                                        class="icon leave"
                                        aria-label=format!("Leave #{room}")
                                        title=format!("Leave #{room}")
                                        on:click=move |_| {
                                            if let Some(next) = chat.leave_room(&leave) {
                                                let _ = window().location().set_hash(&hash_for_room(&next));
                                            }
                                            // Not on the next room's "Leave": Enter twice
                                            // must not leave two rooms ("Undo" is offered).
                                            focus_composer();
                                        }
                                    >
                                        "×"
                                    </button>
                                </li>
                            }
                        })
                            .collect_view()
                    }}
                </ul>
                <RoomSwitcher drawer=drawer />
                <NewRoom drawer=drawer />
            </nav>
            <section aria-labelledby="dm-heading">
                <h2 id="dm-heading">"Conversations"</h2>
                <p class="side-hint" hidden=move || !conversations.with(Vec::is_empty)>
                    {move || if open_server.get() {
                        "Pick a person below to write to them. On this open server anyone can take their name and read it."
                    } else {
                        "Pick a person below to write to them alone."
                    }}
                </p>
                <ul id="dm-list" class="nav-list">
                    {move || {
                        conversations.get()
                            .into_iter()
                            .map(|peer| {
                            let (this, that) = (peer.clone(), peer.clone());
                            let active = move || conversation_item(&this).1;
                            let current = active.clone();
                            let go = peer.clone();
                            let name = peer.clone();
                            view! {
                                <li class="nav-item" class:active=active data-peer=peer.clone()>
                                    <button
                                        type="button"
                                        class="nav-link"
                                        aria-current=move || current().then_some("page")
                                        on:click=move |_| open_dm(go.clone())
                                    >
                                        {move || {
                                            let unread = conversation_item(&that).0;
                                            view! {
                                                <span class="nav-name">"@" {name.clone()}</span>
                                                {badge("unread", "", unread, "unread")}
                                            }
                                        }}
                                    </button>
                                </li>
                            }
                        })
                            .collect_view()
                    }}
                </ul>
                <ul id="group-list" class="nav-list">
                    <For each=move || groups.get() key=|g| g.clone() let:group>
                        {group_item(group, show_room)}
                    </For>
                </ul>
                <GroupPicker drawer=drawer />
            </section>
            <section aria-labelledby="people-heading" hidden=move || people.with(Vec::is_empty)>
                <h2 id="people-heading">{move || format!("In #{}", room.get())}</h2>
                <ul id="people" class="nav-list">
                    {move || {
                        people.get()
                            .into_iter()
                            .map(|person| {
                            let is_me = me.with_untracked(|me| *me == person);
                            let go = person.clone();
                            view! {
                                <li class="person" data-user=person.clone()>
                                    <span class="presence-dot" aria-hidden="true"></span>
                                    <span class="person-name">{person.clone()}</span>
                                    <button
                                        type="button"
                                        class="link dm-start"
                                        hidden=is_me
                                        aria-label=format!("Message {person}")
                                        on:click=move |_| open_dm(go.clone())
                                    >
                                        "Message"
                                    </button>
                                    <span class="you" hidden=!is_me>"(you)"</span>
                                </li>
                            }
                        })
                            .collect_view()
                    }}
                </ul>
            </section>
            <div class="me">
                <span class="me-name" id="me-name" title="Your name">
                    {move || name.get().unwrap_or_default()}
                </span>
                <button
                    type="button"
                    class="link"
                    id="change-name"
                    hidden=move || name.with(Option::is_none) || token_held.get()
                    on:click=move |_| chat.forget_name()
                >
                    "Change name"
                </button>
                <button
                    type="button"
                    class="link"
                    id="sign-out"
                    hidden=move || !signed_in.get()
                    on:click=move |_| chat.sign_out()
                >
                    "Sign out"
                </button>
                <button
                    type="button"
                    id="notify-toggle"
                    class="secondary small"
                    hidden=move || !can_ask.get()
                    on:click=move |_| notify::request(move |granted| {
                        can_ask.set(false);
                        denied.set(!granted);
                        if granted {
                            crate::push::enable_later(chat);
                        }
                    })
                >
                    "Enable notifications"
                </button>
                <super::MuteToggle />
                <super::PushPreviews />
                <p class="side-hint" id="notify-denied" role="status" hidden=move || !denied.get()>
                    "Notifications are blocked for this site. To get them, allow notifications in the browser's site settings, then reload."
                </p>
            </div>
        </aside>
    }
}
