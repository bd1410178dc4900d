//! The top bar: the drawer button (phones), what is on screen, how many are here, and the
//! connection. It stays one row: anything that could wrap it (errors, the user's own controls)
//! lives in the sidebar, and the title shrinks first.

use leptos::prelude::*;

use super::{ConnectionStatus, RoomSettings};
use crate::socket::use_chat;
use crate::state::is_group;

/// The top bar of the app.
#[component]
pub fn Header(
    /// Whether the phone drawer (the sidebar) is open.
    drawer: RwSignal<bool>,
) -> impl IntoView {
    let chat = use_chat();
    let title = Memo::new(move |_| {
        chat.session.with(|s| match &s.dm {
            Some(peer) => format!("@{peer}"),
            None if is_group(&s.room) => s.group_label(&s.room),
            None => format!("#{}", s.room),
        })
    });
    let users = Memo::new(move |_| {
        chat.session.with(|s| {
            if s.dm.is_some() {
                0
            } else {
                s.current().map_or(0, |r| r.users.len())
            }
        })
    });
    // In a conversation: whether the other person is connected.
    let peer_online = Memo::new(move |_| {
        chat.session
            .with(|s| s.dm.as_deref().map(|p| s.peer_online(p)))
    });
    let unread = Memo::new(move |_| chat.session.with(|s| s.unread_total() as usize));

    view! {
        <header class="topbar">
            <button
                type="button"
                id="menu-toggle"
                class="icon menu"
                aria-controls="sidebar"
                aria-expanded=move || drawer.get().to_string()
                aria-label=move || match unread.get() {
                    0 => "Rooms and people".to_string(),
                    n => format!("Rooms and people ({n} unread)"),
                }
                on:click=move |_| drawer.update(|d| *d = !*d)
            >
                <span aria-hidden="true">"☰"</span>
                <span class="badge unread" hidden=move || unread.get() == 0>
                    {move || unread.get()}
                </span>
            </button>
            <div class="room-title">
                <span class="brand" aria-hidden="true">"Banter"</span>
                <h1 id="room-name">{move || title.get()}</h1>
                <span class="users" id="user-count">
                    {move || match (peer_online.get(), users.get()) {
                        (Some(true), _) => "online".to_string(),
                        (Some(false), _) => "not connected".to_string(),
                        (None, 0) => String::new(),
                        (None, n) => format!("{n} here"),
                    }}
                </span>
            </div>
            <RoomSettings />
            <ConnectionStatus />
        </header>
    }
}
