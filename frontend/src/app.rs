//! The app shell: provides the chat, follows the address to pick the room, lays out the views.

use leptos::prelude::*;

use crate::components::{Composer, Header, MessageList, NamePrompt, Notices};
use crate::socket::provide_chat;
use crate::state::room_from_hash;

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let chat = provide_chat();
    let route_error = RwSignal::new(None::<String>);

    // `#/r/NAME` picks the room; an empty fragment is the lobby.
    let follow_address = move || {
        let hash = window().location().hash().unwrap_or_default();
        let limits = chat.session.with_untracked(|s| s.limits.clone());
        let result = room_from_hash(&hash, &limits).and_then(|room| chat.switch_room(&room));
        route_error.set(result.err());
    };
    follow_address();
    // The app lives as long as the page, so the listener is never removed.
    let _listener = window_event_listener(leptos::ev::hashchange, move |_| follow_address());

    let named = Memo::new(move |_| {
        chat.session
            .with(|s| s.name.is_some() && s.name_refused.is_none())
    });
    let online_after = move || {
        chat.online_after_ms
            .get()
            .map(|ms| (ms.max(0.0) as u64).to_string())
    };

    view! {
        <div class="app" id="app" data-online-ms=online_after>
            <Header />
            <Show when=move || named.get() fallback=|| view! { <NamePrompt /> }>
                <main class="chat">
                    <Notices route_error=route_error />
                    <MessageList />
                    <Composer />
                </main>
            </Show>
        </div>
    }
}
