//! A message's actions, shown on hover, on keyboard focus inside the message, or after a
//! long-press on a phone: react, reply in a thread, for the user's own messages edit, and
//! delete (after a confirmation) for their own and, for the room's owners and moderators and
//! server admins, anyone's.

use leptos::prelude::*;

use super::msg_ui::{focus_later, use_msg_ui};
use crate::socket::use_chat;

/// The toolbar of message `seq` (`own`: the user wrote it; `in_thread`: shown in the thread
/// pane, whose own composer answers).
#[component]
pub fn MsgActions(seq: u64, own: bool, in_thread: bool) -> impl IntoView {
    let chat = use_chat();
    let ui = use_msg_ui();
    let may_delete = Memo::new(move |_| own || chat.session.with(|s| s.moderates_current()));
    let delete = move |_| {
        let sure = window()
            .confirm_with_message("Delete this message for everyone? This cannot be undone.")
            .unwrap_or(false);
        if !sure {
            return;
        }
        if let Err(e) = chat.delete(seq) {
            chat.session.update(|s| s.notice = Some(e));
        }
        focus_later("#composer-input".into());
    };
    let open_thread = move |_| {
        ui.thread.set(Some(seq));
        chat.open_thread(seq);
        focus_later("#thread-input".into());
    };
    view! {
        <div class="msg-actions" role="toolbar" aria-label="Message actions">
            <button
                type="button"
                class="icon act-react"
                aria-label="Add a reaction"
                title="Add a reaction"
                aria-expanded=move || (ui.picker.get() == Some(seq)).to_string()
                on:click=move |_| {
                    ui.picker.update(|p| *p = if *p == Some(seq) { None } else { Some(seq) })
                }
            >
                "☺+"
            </button>
            <button
                type="button"
                class="icon act-reply"
                hidden=in_thread
                aria-label="Reply in a thread"
                title="Reply in a thread"
                on:click=open_thread
            >
                "💬"
            </button>
            <button
                type="button"
                class="icon act-edit"
                hidden=!own
                aria-label="Edit"
                title="Edit"
                on:click=move |_| ui.editing.set(Some(seq))
            >
                "✎"
            </button>
            <button
                type="button"
                class="icon act-delete"
                hidden=move || !may_delete.get()
                aria-label="Delete"
                title="Delete"
                on:click=delete
            >
                "🗑"
            </button>
        </div>
    }
}
