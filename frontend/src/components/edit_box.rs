//! A message edited in place: its text in a box, Enter saves (Shift+Enter starts a new line),
//! Escape cancels; focus goes back to the composer either way.

use leptos::prelude::*;

use super::msg_ui::{focus_later, use_msg_ui};
use crate::socket::use_chat;

/// The editor of the user's message `seq`, starting from `text`.
#[component]
pub fn EditBox(seq: u64, text: String) -> impl IntoView {
    let chat = use_chat();
    let ui = use_msg_ui();
    let draft = RwSignal::new(text);
    let error = RwSignal::new(None::<String>);
    let done = move || {
        ui.editing.set(None);
        focus_later("#composer-input".into());
    };
    let save = move || match chat.edit(seq, &draft.get_untracked()) {
        Ok(()) => done(),
        Err(e) => error.set(Some(e)),
    };
    focus_later(format!("li[data-seq=\"{seq}\"] .edit-input"));
    view! {
        <div class="edit-box">
            <label class="visually-hidden" for=format!("edit-{seq}")>
                "Edit your message"
            </label>
            <textarea
                id=format!("edit-{seq}")
                class="edit-input"
                rows="2"
                aria-describedby="edit-hint"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    match ev.key().as_str() {
                        "Enter" if !ev.shift_key() && !ev.is_composing() => {
                            ev.prevent_default();
                            save();
                        }
                        "Escape" => {
                            ev.prevent_default();
                            ev.stop_propagation();
                            done();
                        }
                        _ => {}
                    }
                }
            ></textarea>
            <p class="edit-foot">
                <span id="edit-hint">"Enter saves · Esc cancels"</span>
                <button type="button" class="secondary small edit-save" on:click=move |_| save()>
                    "Save"
                </button>
                <button type="button" class="link edit-cancel" on:click=move |_| done()>
                    "Cancel"
                </button>
            </p>
            <p class="field-error" role="alert">{move || error.get()}</p>
        </div>
    }
}
