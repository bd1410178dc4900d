//! Where the user writes: Enter sends, Shift+Enter starts a new line. Files attached (v1.2,
//! `attachments`) go with the message once uploaded; then the text may be empty.

use leptos::prelude::*;

use super::attachments::{AttachButton, AttachmentTray};
use crate::socket::use_chat;
use crate::state::Attachments;
use crate::state::{PendingState, counter_visible, text_len};

/// -1 for PageUp, 1 for PageDown.
fn page_dir(key: &str) -> Option<i32> {
    match key {
        "PageUp" => Some(-1),
        "PageDown" => Some(1),
        _ => None,
    }
}

/// PageUp/PageDown in the composer page through the messages (a text box has nothing to page).
fn page_messages(dir: i32) {
    if let Ok(Some(el)) = document().query_selector(".scroller") {
        let page = el.client_height() * 9 / 10;
        el.set_scroll_top(el.scroll_top() + dir * page);
    }
}

/// The message box with its Send button, inline error and character counter.
#[component]
pub fn Composer() -> impl IntoView {
    let chat = use_chat();
    let ui = super::msg_ui::use_msg_ui();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let attached = RwSignal::new(Attachments::default());
    // Sent while its room's files were uploading: the room, to send in once they are done.
    let waiting = RwSignal::new(None::<String>);
    let max = Memo::new(move |_| chat.session.with(|s| s.limits.max_text_chars));
    let len = Memo::new(move |_| text.with(|t| text_len(t)));
    let show_counter =
        Memo::new(move |_| chat.session.with(|s| counter_visible(len.get(), &s.limits)));
    let input = NodeRef::<leptos::html::Textarea>::new();
    // Refused sends on screen: past one, a single "Retry all" beats a Retry per bubble.
    let failed = Memo::new(move |_| {
        chat.session.with(|s| {
            let key = s.view_key();
            s.pending()
                .in_room(&key)
                .filter(|p| matches!(p.state, PendingState::Failed(_)))
                .count()
        })
    });
    let placeholder = Memo::new(move |_| {
        chat.session.with(|s| match &s.dm {
            Some(peer) => format!("Write to {peer}…"),
            None => format!("Write to #{}…", s.room),
        })
    });
    // Writing starts here when the chat appears (after choosing a name, or on load).
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    let submit = move || {
        let t = text.get_untracked();
        let room = chat
            .session
            .with_untracked(|s| s.screen_room().map(str::to_string));
        let files = room
            .as_ref()
            .map_or(Ok(Vec::new()), |r| attached.with_untracked(|a| a.ready(r)));
        let files = match files {
            Ok(files) => files,
            Err(e) => {
                let busy = room.filter(|r| attached.with_untracked(|a| a.uploading(r)));
                let say = busy
                    .as_ref()
                    .map_or(e, |_| "Sending once the upload is done…".into());
                waiting.set(busy);
                return error.set(Some(say));
            }
        };
        if t.trim().is_empty() && files.is_empty() {
            error.set(Some("Write a message first.".into()));
            return;
        }
        match chat.send_files(&t, files) {
            Ok(()) => {
                text.set(String::new());
                error.set(None);
                if let Some(room) = room {
                    attached.update(|a| a.sent(&room));
                }
            }
            Err(e) => error.set(Some(e)),
        }
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };

    Effect::new(move |_| {
        let Some(room) = waiting.get() else { return };
        let here = chat
            .session
            .with(|s| s.screen_room() == Some(room.as_str()));
        if !here {
            waiting.set(None);
        } else if !attached.with(|a| a.uploading(&room)) {
            waiting.set(None);
            submit();
        }
    });

    view! {
        <form
            class="composer"
            novalidate
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                submit();
            }
        >
            <div class="retry-all" hidden=move || { failed.get() < 2 }>
                <span>{move || format!("{} messages were not sent.", failed.get())}</span>
                <button type="button" class="secondary small" id="retry-all" on:click=move |_| chat.retry_all()>
                    "Retry all"
                </button>
            </div>
            <AttachmentTray list=attached error=error />
            <AttachButton list=attached error=error />
            <label for="composer-input" class="visually-hidden">
                "Message"
            </label>
            <span id="composer-hint" class="visually-hidden">
                "Enter sends, Shift+Enter starts a new line."
            </span>
            <textarea
                id="composer-input"
                node_ref=input
                rows="1"
                placeholder=move || placeholder.get()
                aria-describedby="composer-hint composer-error char-count"
                aria-invalid=move || error.with(Option::is_some).to_string()
                prop:value=move || text.get()
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    if !value.trim().is_empty()
                        && let Some(wait) = chat.typing()
                    {
                        // Just sent: say "typing" once the quiet while is over, if still so.
                        set_timeout(
                            move || {
                                if !text.with_untracked(|t| t.trim().is_empty()) {
                                    chat.typing();
                                }
                            },
                            std::time::Duration::from_millis(wait.ceil() as u64 + 1),
                        );
                    }
                    text.set(value);
                    if error.with_untracked(Option::is_some) {
                        error.set(None);
                    }
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    } else if ev.key() == "ArrowUp" && text.with_untracked(String::is_empty) {
                        // Up in an empty box edits the user's last message, as in Slack.
                        if let Some(seq) = chat.session.with_untracked(|s| s.last_own_message()) {
                            ev.prevent_default();
                            ui.editing.set(Some(seq));
                        }
                    } else if let Some(dir) = page_dir(&ev.key()) {
                        ev.prevent_default();
                        page_messages(dir);
                    }
                }
            ></textarea>
            <button type="submit" id="send-button">
                "Send"
            </button>
            <div class="composer-foot">
                <p id="composer-error" class="field-error" aria-live="polite">
                    {move || error.get()}
                </p>
                <span
                    id="char-count"
                    class="counter"
                    class:over=move || { len.get() > max.get() }
                    hidden=move || !show_counter.get()
                >
                    {move || format!("{} / {}", len.get(), max.get())}
                </span>
            </div>
        </form>
    }
}
