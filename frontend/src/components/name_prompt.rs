//! Asks for the user's name (once: it is remembered in localStorage); "Change name" shows it
//! again with Cancel (and Escape) back to the chat.

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

    // "Change name" (a name is held): Cancel and Escape go back to the chat unchanged.
    let renaming = Memo::new(move |_| chat.session.with(|s| s.renaming && s.name.is_some()));
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && renaming.get_untracked() {
            chat.cancel_renaming();
        }
    });
    on_cleanup(move || escape.remove());
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
                <h2>{move || if renaming.get() { "Change your name" } else { "Welcome to Banter" }}</h2>
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
                    {move || if renaming.get() { "Change name" } else { "Start chatting" }}
                </button>
                <button type="button" class="link" id="name-cancel" hidden=move || !renaming.get()
                    on:click=move |_| chat.cancel_renaming()>
                    "Cancel"
                </button>
            </form>
        </main>
    }
}
