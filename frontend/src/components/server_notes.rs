//! What the page says about the server itself: [`Connecting`] (before it says whether it wants
//! names or sign-ins: neither a name prompt nor a sign-in page yet), and [`OpenServerWarning`]
//! (an open server verifies no names, so nothing on it is private: said plainly, once per
//! page, above the messages).

use banter_protocol::AuthMode;
use leptos::prelude::*;

use crate::socket::use_chat;

/// The card shown until the server's `welcome`.
#[component]
pub fn Connecting() -> impl IntoView {
    view! {
        <main class="name-prompt" id="connecting">
            <div class="card">
                <h2>"Connecting…"</h2>
                <p class="hint">"Reaching the server. This page carries on by itself once it answers."</p>
            </div>
        </main>
    }
}

/// The sentence an open server earns wherever privacy could be assumed.
pub const OPEN_SERVER: &str = "This server is open: names are not verified, so anyone can type \
    any name (yours too) and read its conversations. Nothing here is private.";

/// The open-server warning above the messages (until dismissed on this page).
#[component]
pub fn OpenServerWarning() -> impl IntoView {
    let chat = use_chat();
    let dismissed = RwSignal::new(false);
    let open = Memo::new(move |_| {
        chat.session
            .with(|s| s.server_seen && s.auth == AuthMode::Open)
    });
    view! {
        <p class="notice warn" id="open-warning" role="note"
            hidden=move || !open.get() || dismissed.get()>
            <span>{OPEN_SERVER}</span>
            " "
            <span class="hint">"Its admin can run it with " <code>"--auth accounts"</code> " for private rooms and sign-ins."</span>
            <button type="button" class="link" on:click=move |_| dismissed.set(true)>"Got it"</button>
        </p>
    }
}
