//! The page for a server that needs a sign-in token when none is held: how to get a link, and a
//! field to paste a token.

use leptos::prelude::*;

use super::PasswordSignIn;
use crate::socket::use_chat;

/// Explains how to sign in (`banter invite --sub NAME` prints a sign-in link).
#[component]
pub fn SignIn() -> impl IntoView {
    let chat = use_chat();
    let value = RwSignal::new(String::new());
    let refused = Memo::new(move |_| chat.session.with(|s| s.auth_error.clone()));
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let token = value.get_untracked().trim().to_string();
        if !token.is_empty() {
            chat.sign_in(token);
        }
    };

    view! {
        <main class="name-prompt" id="sign-in">
            <PasswordSignIn />
            <form class="card" on:submit=submit novalidate>
                <h2>"Sign in to Banter"</h2>
                <p class="notice warn" id="auth-error" hidden=move || refused.with(Option::is_none)>
                    {move || refused.get().map(|e| format!(
                        "Your sign-in link no longer works (the server said: {e}). Links expire: ask whoever runs this server for a new one, or sign in with your password if you have one."
                    ))}
                </p>
                <p class="hint">
                    "This server lets in only people with a sign-in link. Ask whoever runs it for one: "
                    <code>"banter invite --sub YOUR-NAME"</code>
                    " prints a link; open it in this browser and you are in."
                </p>
                <label for="token-input">"Or paste a token"</label>
                <input id="token-input" type="password" autocomplete="off" node_ref=input
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
                <button type="submit" id="token-submit">"Sign in"</button>
            </form>
        </main>
    }
}
