//! The app shell: provides the chat, follows the address to pick the room, takes a sign-in
//! link's token, keeps the page title and the hidden/visible state, lays out the views.

use leptos::prelude::*;

use crate::components::{
    AccountMenu, Composer, Connecting, Header, MessageList, NamePrompt, Notices, OpenServerWarning,
    RemovedNotice, SearchBox, Sidebar, SignIn, SignUp, SkipLink, ThreadPane, TypingLine,
};
use crate::socket::{now_ms, provide_chat};
use crate::state::{Screen, dm_from_hash, room_from_hash, token_from_fragment};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let chat = provide_chat();
    crate::components::msg_ui::provide_msg_ui();
    let route_error = RwSignal::new(None::<String>);
    // The phone drawer holding the sidebar.
    let drawer = RwSignal::new(false);
    // `#invite=CODE` (`--auth accounts`): the sign-up page, until it is done or left.
    let invite = RwSignal::new(None::<String>);

    // `#token=...` is a sign-in link: keep the token, take it out of the address bar (and the
    // history), then show the lobby. `#/r/NAME` picks the room; an empty fragment is the lobby.
    let follow_address = move || {
        let location = window().location();
        let hash = location.hash().unwrap_or_default();
        if let Some(code) = hash.strip_prefix("#invite=").filter(|c| !c.is_empty()) {
            invite.set(Some(code.to_string()));
            let clean = location.pathname().unwrap_or_else(|_| "/".into());
            if let Ok(history) = window().history() {
                let _ =
                    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&clean));
            }
            return;
        }
        if let Some(token) = token_from_fragment(&hash) {
            let clean = location.pathname().unwrap_or_else(|_| "/".into());
            if let Ok(history) = window().history() {
                let _ =
                    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&clean));
            }
            chat.sign_in(token);
            return;
        }
        if let Some(peer) = dm_from_hash(&hash) {
            route_error.set(chat.open_dm(&peer).err());
            return;
        }
        let limits = chat.session.with_untracked(|s| s.limits.clone());
        let result = room_from_hash(&hash, &limits).and_then(|room| chat.switch_room(&room));
        route_error.set(result.err());
    };
    follow_address();
    // The app lives as long as the page, so the listeners are never removed.
    let _listener = window_event_listener(leptos::ev::hashchange, move |_| follow_address());
    crate::push::listen(chat);
    let _visibility = window_event_listener_untyped("visibilitychange", move |_| {
        chat.set_hidden(document().hidden());
    });

    // "ada is typing…" fades after a few quiet seconds.
    let _ticker = set_interval_with_handle(
        move || {
            let now = now_ms();
            if chat.session.with_untracked(|s| s.typing_expired(now)) {
                chat.session.update(|s| {
                    s.expire_typing(now);
                });
            }
        },
        std::time::Duration::from_millis(500),
    );

    // The page title counts what is unread, all rooms and conversations together.
    let unread = Memo::new(move |_| chat.session.with(|s| s.unread_total() as usize));
    Effect::new(move |_| {
        let title = match unread.get() {
            0 => "Banter".to_string(),
            n => format!("({n}) Banter"),
        };
        document().set_title(&title);
    });

    let screen = Memo::new(move |_| chat.session.with(|s| s.screen()));
    let online_after = move || {
        chat.online_after_ms
            .get()
            .map(|ms| (ms.max(0.0) as u64).to_string())
    };

    view! {
        <div class="app" id="app" data-online-ms=online_after>
            <SkipLink />
            // The name, sign-in and sign-up pages show nothing of a chat behind them.
            {move || if invite.get().is_none() && screen.get() == Screen::Chat {
                view! { <Header drawer=drawer /> }.into_any()
            } else {
                view! { <header class="topbar"><span class="brand">"Banter"</span></header> }.into_any()
            }}
            // Kept mounted (it hides itself without a signed-in account): a password change
            // ends this page's socket too, and its notice must outlive the moment signed out.
            <AccountMenu />
            {move || match (invite.get(), screen.get()) {
                (Some(code), _) => {
                    let done = Callback::new(move |()| invite.set(None));
                    view! { <SignUp code=code done=done /> }.into_any()
                }
                (None, screen) => match screen {
                Screen::Name => view! { <NamePrompt /> }.into_any(),
                Screen::SignIn => view! { <SignIn /> }.into_any(),
                Screen::Connecting => view! { <Connecting /> }.into_any(),
                Screen::Chat => {
                    view! {
                        <div class="body">
                            <Sidebar drawer=drawer />
                            <SearchBox />
                            <main class="chat">
                                <OpenServerWarning />
                                <RemovedNotice />
                                <Notices route_error=route_error />
                                <MessageList />
                                <TypingLine />
                                <Composer />
                            </main>
                            <ThreadPane />
                        </div>
                    }
                        .into_any()
                }
                },
            }}
        </div>
    }
}
