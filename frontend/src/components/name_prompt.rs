//! Asks for the user's name (once: it is remembered in localStorage).

use leptos::prelude::*;

use crate::prefs;
use crate::socket::use_chat;

/// The "choose a name" card shown before chatting (or when the server refused the name).
#[component]
pub fn NamePrompt() -> impl IntoView {
    let chat = use_chat();
    let value = RwSignal::new(prefs::load_name().unwrap_or_default());
    let error = RwSignal::new(chat.session.with_untracked(|s| s.name_refused.clone()));
    let max = move || chat.session.with(|s| s.limits.max_name_chars);
    // `autofocus` only works on page load; "Change name" shows this later, so focus it here.
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = value.get_untracked();
        if name.trim().is_empty() {
            error.set(Some("Please enter a name.".into()));
            return;
        }
        if let Err(e) = chat.set_name(&name) {
            error.set(Some(e));
        }
    };

    view! {
        <main class="name-prompt">
            <form id="name-form" class="card" on:submit=submit novalidate>
                <h2>"Welcome to Banter"</h2>
                <p class="hint">"Pick the name others will see next to your messages."</p>
                <label for="name-input">"Your name"</label>
                <input
                    id="name-input"
                    type="text"
                    autofocus
                    node_ref=input
                    autocomplete="nickname"
                    maxlength=max
                    aria-describedby="name-error"
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        value.set(event_target_value(&ev));
                        error.set(None);
                    }
                />
                <p id="name-error" class="field-error" aria-live="polite">
                    {move || error.get()}
                </p>
                <button type="submit" id="name-submit">
                    "Start chatting"
                </button>
            </form>
        </main>
    }
}
