//! A message's files (v1.2): images inline as previews (the server's thumbnail, else the file)
//! in a box of the image's own proportions reserved before it loads, opening a full-size view
//! (a modal `<dialog>`: Esc, the Close button or a click beside the image closes it, and the
//! focus goes back to the preview); other files as cards with their name, size and a download
//! link. Files are fetched with the app's `Authorization` and shown through object URLs, revoked
//! when the view goes.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use banter_protocol::FileInfo;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{self, Who};
use crate::socket::use_chat;
use crate::state::{human_size, is_inline_image, preview_box};

/// The largest box an inline preview takes, in CSS pixels.
const PREVIEW_MAX: (u32, u32) = (320, 240);

thread_local! {
    /// The preview that opened the full-size view, to give the focus back to (one view is
    /// open at a time: it is modal).
    static OPENER: RefCell<Option<web_sys::HtmlElement>> = const { RefCell::new(None) };
}

/// An object URL owned by a view: revoked when the view goes, or at once if it arrives after.
#[derive(Clone, Default)]
struct Owned(Arc<Mutex<(Option<String>, bool)>>);

impl Owned {
    /// Keeps `url`; false (and revoked) when the view is gone already.
    fn keep(&self, url: &str) -> bool {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.1 {
            let _ = web_sys::Url::revoke_object_url(url);
            return false;
        }
        slot.0 = Some(url.to_string());
        true
    }

    fn release(&self) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.1 = true;
        if let Some(url) = slot.0.take() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    }
}

/// Loads the first of `paths` that answers into `src` (an object URL), or says it failed.
fn load(paths: Vec<String>, who: Who, src: RwSignal<Option<Result<String, String>>>) {
    let owned = Owned::default();
    let mine = owned.clone();
    on_cleanup(move || mine.release());
    leptos::task::spawn_local(async move {
        let mut last = Err("not found".to_string());
        for path in &paths {
            last = api::object_url(path, &who).await;
            if last.is_ok() {
                break;
            }
        }
        if let Ok(url) = &last
            && !owned.keep(url)
        {
            return;
        }
        src.try_set(Some(last));
    });
}

/// The files of one message.
#[component]
pub fn MessageFiles(files: Vec<FileInfo>) -> impl IntoView {
    let open = RwSignal::new(None::<FileInfo>);
    let items = files
        .into_iter()
        .map(|f| {
            if is_inline_image(&f.content_type) {
                view! { <ImagePreview file=f open=open /> }.into_any()
            } else {
                view! { <FileCard file=f /> }.into_any()
            }
        })
        .collect_view();
    view! {
        <div class="msg-files">
            {items}
            {move || open.get().map(|f| view! { <FullView file=f open=open /> })}
        </div>
    }
}

/// An image in its reserved box; a click opens the full-size view.
#[component]
fn ImagePreview(file: FileInfo, open: RwSignal<Option<FileInfo>>) -> impl IntoView {
    let chat = use_chat();
    let who = chat.session.with_untracked(|s| s.who());
    let (w, h) = preview_box(file.width, file.height, PREVIEW_MAX.0, PREVIEW_MAX.1);
    let src = RwSignal::new(None);
    let paths = vec![
        api::file_path(&file.id, true, &who),
        api::file_path(&file.id, false, &who),
    ];
    load(paths, who, src);
    let name = file.name.clone();
    let label = format!("{name} ({}), open full size", human_size(file.size));
    view! {
        <button
            type="button"
            class="file-image"
            data-file-id=file.id.clone()
            aria-label=label
            style=format!("width:{w}px;aspect-ratio:{w}/{h}")
            on:click=move |ev| {
                let el = ev.current_target().and_then(|t| t.dyn_into().ok());
                OPENER.with(|o| *o.borrow_mut() = el);
                open.set(Some(file.clone()));
            }
        >
            {move || match src.get() {
                Some(Ok(url)) => view! { <img src=url alt=name.clone() width=w height=h /> }.into_any(),
                Some(Err(_)) => view! { <span class="file-missing">"Image unavailable"</span> }.into_any(),
                None => ().into_any(),
            }}
        </button>
    }
}

/// The full-size image in a modal dialog.
#[component]
fn FullView(file: FileInfo, open: RwSignal<Option<FileInfo>>) -> impl IntoView {
    let chat = use_chat();
    let who = chat.session.with_untracked(|s| s.who());
    let src = RwSignal::new(None);
    load(vec![api::file_path(&file.id, false, &who)], who, src);
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    dialog.on_load(|d| {
        let _ = d.show_modal();
    });
    let close = move || {
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
    };
    let name = file.name.clone();
    let label = format!("{name}, full size");
    let (w, h) = (file.width, file.height);
    view! {
        <dialog
            class="lightbox"
            id="lightbox"
            node_ref=dialog
            aria-label=label
            on:close=move |_| {
                open.set(None);
                if let Some(el) = OPENER.with(|o| o.borrow_mut().take()) {
                    let _ = el.focus();
                }
            }
            on:click=move |ev| {
                // A click on the backdrop (the dialog itself, not what it holds) closes it.
                let on_dialog = ev.target().is_some_and(|t| t.has_type::<web_sys::HtmlDialogElement>());
                if on_dialog {
                    close();
                }
            }
            on:keydown=move |ev| ev.stop_propagation()
        >
            <div class="lightbox-body">
                {move || match src.get() {
                    Some(Ok(url)) => {
                        view! { <img class="lightbox-image" src=url alt=name.clone() width=w height=h /> }
                            .into_any()
                    }
                    Some(Err(e)) => view! { <p class="file-missing">{format!("The image could not be loaded: {e}.")}</p> }.into_any(),
                    None => view! { <p class="file-loading">"Loading…"</p> }.into_any(),
                }}
                <div class="lightbox-bar">
                    <span class="file-name">{file.name.clone()}</span>
                    <span class="file-size">{human_size(file.size)}</span>
                    <DownloadLink file=file.clone() />
                    <button type="button" class="secondary small" id="lightbox-close" autofocus on:click=move |_| close()>
                        "Close"
                    </button>
                </div>
            </div>
        </dialog>
    }
}

/// A file that is not shown inline: a card with its name, size and a download link.
#[component]
fn FileCard(file: FileInfo) -> impl IntoView {
    let (id, name, size) = (file.id.clone(), file.name.clone(), human_size(file.size));
    view! {
        <div class="file-card" data-file-id=id>
            <span class="file-icon" aria-hidden="true">"📄"</span>
            <span class="file-name">{name}</span>
            <span class="file-size">{size}</span>
            <DownloadLink file=file />
        </div>
    }
}

/// "Download": a plain link on an open server; with a token the file is fetched with it first
/// (a link cannot carry the header) and saved from an object URL.
#[component]
fn DownloadLink(file: FileInfo) -> impl IntoView {
    let chat = use_chat();
    let who = chat.session.with_untracked(|s| s.who());
    let href = api::file_path(&file.id, false, &who);
    let name = file.name.clone();
    let path = href.clone();
    view! {
        <a
            class="file-download"
            href=href
            download=file.name.clone()
            aria-label=format!("Download {}", file.name)
            on:click=move |ev| {
                if who.token.is_none() {
                    return;
                }
                ev.prevent_default();
                let (path, who, name) = (path.clone(), who.clone(), name.clone());
                leptos::task::spawn_local(async move {
                    if let Ok(url) = api::object_url(&path, &who).await {
                        save(&url, &name);
                        // The download has started by then.
                        set_timeout(
                            move || {
                                let _ = web_sys::Url::revoke_object_url(&url);
                            },
                            std::time::Duration::from_secs(60),
                        );
                    }
                });
            }
        >
            "Download"
        </a>
    }
}

/// Saves the object URL `url` as `name` (a link clicked from script).
fn save(url: &str, name: &str) {
    let Ok(a) = document().create_element("a") else {
        return;
    };
    let _ = a.set_attribute("href", url);
    let _ = a.set_attribute("download", name);
    if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
        a.click();
    }
}
