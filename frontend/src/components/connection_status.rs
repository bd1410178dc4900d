//! The connection badge with its Disconnect / Connect buttons.

use leptos::prelude::*;

use crate::socket::use_chat;

/// Shows connecting / online / reconnecting in Ns / offline, and lets the user go offline or
/// connect now.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    let chat = use_chat();
    let state = chat.conn;
    // The buttons only change with the kind of state, not with every tick of the countdown, so
    // keyboard focus stays put.
    let kind = Memo::new(move |_| state.get().key());

    view! {
        <div class="conn">
            <span
                id="conn-status"
                class="conn-badge"
                role="status"
                data-state=move || kind.get()
            >
                <span class="dot" aria-hidden="true"></span>
                {move || state.get().label()}
            </span>
            // One toggle (Disconnect, or Connect when offline) and, during a backoff, a way to
            // skip the wait. Plain attributes and text, so the DOM nodes (and focus) stay put.
            <button
                type="button"
                id="conn-now"
                class="secondary"
                hidden=move || kind.get() != "reconnecting"
                on:click=move |_| chat.connect()
            >
                "Connect now"
            </button>
            <button
                type="button"
                id="conn-toggle"
                class="secondary"
                on:click=move |_| {
                    if kind.get_untracked() == "offline" {
                        chat.connect();
                    } else {
                        chat.disconnect();
                    }
                }
            >
                // On a phone only the icon shows, so the button never takes the header.
                <span class="conn-toggle-icon" aria-hidden="true">"⏻"</span>
                <span class="conn-toggle-text">
                    {move || if kind.get() == "offline" { "Connect" } else { "Disconnect" }}
                </span>
            </button>
        </div>
    }
}
