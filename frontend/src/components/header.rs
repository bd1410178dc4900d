//! The top bar: the room, who is here, the room switcher, the user and the connection.

use leptos::prelude::*;

use super::{ConnectionStatus, RoomSwitcher};
use crate::socket::use_chat;

/// The top bar of the app.
#[component]
pub fn Header() -> impl IntoView {
    let chat = use_chat();
    let room = Memo::new(move |_| chat.session.with(|s| s.room.clone()));
    let users = Memo::new(move |_| {
        chat.session
            .with(|s| s.current().map_or(0, |r| r.users.len()))
    });
    let name = Memo::new(move |_| chat.session.with(|s| s.name.clone()));

    view! {
        <header class="topbar">
            <div class="room-title">
                <span class="brand" aria-hidden="true">"Banter"</span>
                <h1 id="room-name">
                    <span class="hash" aria-hidden="true">"#"</span>
                    {move || room.get()}
                </h1>
                <span class="users" id="user-count">
                    {move || match users.get() {
                        0 => String::new(),
                        1 => "1 here".to_string(),
                        n => format!("{n} here"),
                    }}
                </span>
            </div>
            <RoomSwitcher />
            <div class="me">
                <span class="me-name" id="me-name" title="Your name">
                    {move || name.get().unwrap_or_default()}
                </span>
                <button
                    type="button"
                    class="link"
                    id="change-name"
                    hidden=move || name.with(Option::is_none)
                    on:click=move |_| chat.forget_name()
                >
                    "Change name"
                </button>
            </div>
            <ConnectionStatus />
        </header>
    }
}
