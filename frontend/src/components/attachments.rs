//! Attaching files in the composer (v1.2): the Attach button (a file picker), a drop anywhere on
//! the chat, or a paste of an image; each file uploads at once to the room on screen, listed
//! above the message box with its progress and a Cancel (then Remove once stored, or refused
//! with the reason). The message goes with them when the user sends it (see the composer).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api;
use crate::socket::{Chat, use_chat};
use crate::state::{Attachment, Attachments, UploadState, human_size};

/// Starts uploading every file of `files` to the room on screen, listing each in `list`; a
/// refusal is said in `error` (the composer's line) too.
fn attach(
    chat: Chat,
    list: RwSignal<Attachments>,
    error: RwSignal<Option<String>>,
    files: &web_sys::FileList,
) {
    let (room, who) = chat
        .session
        .with_untracked(|s| (s.screen_room().map(str::to_string), s.who()));
    let Some(room) = room else {
        error.set(Some(
            "Send a first message to open this conversation, then attach files.".into(),
        ));
        return;
    };
    for i in 0..files.length() {
        let Some(file) = files.item(i) else { continue };
        let Some(key) = list.try_update(|a| a.add(&room, &file.name(), file.size() as u64)) else {
            return;
        };
        let progress = move |sent| {
            list.try_update(|a| a.progress(key, sent));
        };
        let done = move |answer| match answer {
            Ok(info) => {
                list.try_update(|a| a.done(key, info));
            }
            Err(reason) => {
                error.try_set(Some(String::clone(&reason)));
                list.try_update(|a| a.failed(key, reason));
            }
        };
        if let Err(reason) = api::upload(key, &room, &file, &who, progress, done) {
            error.set(Some(reason.clone()));
            list.update(|a| a.failed(key, reason));
        }
    }
}

/// Whether a drag carries files (not text or a link from the page).
fn has_files(ev: &web_sys::DragEvent) -> bool {
    ev.data_transfer()
        .is_some_and(|dt| dt.types().includes(&"Files".into(), 0))
}

/// The Attach button and its hidden file picker.
#[component]
pub fn AttachButton(
    /// The composer's attached files.
    list: RwSignal<Attachments>,
    /// The composer's error line.
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let chat = use_chat();
    let input = NodeRef::<leptos::html::Input>::new();
    view! {
        <input
            type="file"
            id="file-input"
            multiple
            hidden
            node_ref=input
            on:change=move |_| {
                if let Some(el) = input.get_untracked() {
                    if let Some(files) = el.files() {
                        attach(chat, list, error, &files);
                    }
                    // The same file may be picked again.
                    el.set_value("");
                }
            }
        />
        <button
            type="button"
            id="attach-button"
            class="secondary attach-button"
            title="Attach files (or drop or paste them)"
            aria-label="Attach files"
            on:click=move |_| {
                if let Some(el) = input.get_untracked() {
                    el.click();
                }
            }
        >
            "📎"
        </button>
    }
}

/// The files attached in the room on screen, and the page's paste and drop listeners (while
/// the chat is shown).
#[component]
pub fn AttachmentTray(
    /// The composer's attached files.
    list: RwSignal<Attachments>,
    /// The composer's error line.
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let chat = use_chat();
    let over = RwSignal::new(false);
    let paste = window_event_listener(leptos::ev::paste, move |ev| {
        let files = ev.clipboard_data().and_then(|dt| dt.files());
        if let Some(files) = files.filter(|f| f.length() > 0) {
            ev.prevent_default();
            attach(chat, list, error, &files);
        }
    });
    let dragover = window_event_listener(leptos::ev::dragover, move |ev| {
        if has_files(&ev) {
            ev.prevent_default();
            over.set(true);
        }
    });
    let dragleave = window_event_listener(leptos::ev::dragleave, move |ev| {
        // Leaving the window: nothing is under the pointer any more.
        let to = js_sys::Reflect::get(&ev, &"relatedTarget".into()).unwrap_or_default();
        if to.is_null() || to.is_undefined() {
            over.set(false);
        }
    });
    // A file dropped anywhere is attached (not opened by the browser in place of the app).
    let drop = window_event_listener(leptos::ev::drop, move |ev| {
        over.set(false);
        if has_files(&ev) {
            ev.prevent_default();
            if let Some(files) = ev.data_transfer().and_then(|dt| dt.files()) {
                attach(chat, list, error, &files);
            }
        }
    });
    on_cleanup(move || {
        paste.remove();
        dragover.remove();
        dragleave.remove();
        drop.remove();
    });
    let shown = Memo::new(move |_| {
        let room = chat
            .session
            .with(|s| s.screen_room().unwrap_or_default().to_string());
        list.with(|a| a.in_room(&room).cloned().collect::<Vec<_>>())
    });
    view! {
        <div class="drop-hint" hidden=move || !over.get() aria-hidden="true">
            "Drop files to attach them"
        </div>
        <ul class="attachments" id="attachments" hidden=move || shown.with(Vec::is_empty)>
            <For each=move || shown.get() key=Attachment::view_key let:a>
                <AttachmentItem a=a list=list />
            </For>
        </ul>
    }
}

/// One attached file: name, size, progress, and Cancel (uploading) or Remove.
#[component]
fn AttachmentItem(a: Attachment, list: RwSignal<Attachments>) -> impl IntoView {
    let key = a.key;
    let pct = a.percent();
    let (status, action) = match &a.state {
        UploadState::Uploading { .. } => (
            view! {
                <progress max="100" value=pct aria-label=format!("Uploading {}", a.name)></progress>
                <span class="upload-pct">{format!("{pct}%")}</span>
            }
            .into_any(),
            "Cancel",
        ),
        UploadState::Done(_) => (
            view! { <span class="upload-done">"Ready"</span> }.into_any(),
            "Remove",
        ),
        UploadState::Failed(reason) => (
            view! { <span class="upload-error" role="alert">{reason.clone()}</span> }.into_any(),
            "Remove",
        ),
    };
    let state = match a.state {
        UploadState::Uploading { .. } => "uploading",
        UploadState::Done(_) => "done",
        UploadState::Failed(_) => "failed",
    };
    view! {
        <li class="attachment" data-state=state>
            <span class="file-name">{a.name.clone()}</span>
            <span class="file-size">{human_size(a.size)}</span>
            {status}
            <button
                type="button"
                class="link attachment-remove"
                aria-label=format!("{action} {}", a.name)
                on:click=move |_| {
                    api::cancel(key);
                    list.update(|l| {
                        l.remove(key);
                    });
                    focus_composer();
                }
            >
                {action}
            </button>
        </li>
    }
}

/// Puts the focus back in the message box (the item that had it is gone).
fn focus_composer() {
    if let Some(el) = document()
        .get_element_by_id("composer-input")
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}
