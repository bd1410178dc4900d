//! Pages of history fetched for the message list as the reader scrolls: older ones at the top
//! (`before=`), and newer ones at the bottom of a stretch read far back (`since=`), until it
//! meets the live one (`state::ranges`). Also the scroll arithmetic that keeps what the reader
//! is looking at in place while rows are added or taken away around it.

use leptos::prelude::*;

use crate::api;
use crate::socket::Chat;

/// How long a failed page waits before it may be asked for again (milliseconds).
const RETRY_MS: f64 = 2_000.0;

/// Which way a page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `before=` the given `seq`.
    Before,
    /// `since=` the given `seq`.
    After,
}

/// Where the message `seq` is in the list (pixels from the top of the scrolled content).
pub fn offset_of(el: &web_sys::HtmlDivElement, seq: u64) -> Option<i32> {
    let li = el
        .query_selector(&format!("li[data-seq=\"{seq}\"]"))
        .ok()??;
    let li: web_sys::HtmlElement = wasm_bindgen::JsCast::dyn_into(li).ok()?;
    Some(li.offset_top())
}

/// How far below the top of the view the message `seq` is now (pixels).
pub fn place_of(el: &web_sys::HtmlDivElement, seq: Option<u64>) -> Option<i32> {
    seq.and_then(|seq| offset_of(el, seq).map(|top| top - el.scroll_top()))
}

/// After the next render, scrolls so the message `seq` is again `place` pixels below the top
/// of the view: rows added above it (or taken away) do not move what the reader sees.
pub fn restore_place(el: web_sys::HtmlDivElement, seq: Option<u64>, place: Option<i32>) {
    request_animation_frame(move || {
        if let (Some(seq), Some(place)) = (seq, place)
            && let Some(top) = offset_of(&el, seq)
        {
            el.set_scroll_top(top - place);
        }
    });
}

/// Fetches the page of the room on screen `dir` of `at` unless one is already on its way
/// (`loading`, shown as a "loading" row meanwhile), adds it to the session, then calls `done`
/// with how many messages were new (not called when the room changed meanwhile or it failed).
pub fn fetch_page(
    chat: Chat,
    dir: Dir,
    at: u64,
    loading: RwSignal<bool>,
    done: impl FnOnce(usize) + 'static,
) {
    if loading.get_untracked() {
        return;
    }
    let Some((room, who)) = chat
        .session
        .with_untracked(|s| Some((s.screen_room()?.to_string(), s.who())))
    else {
        return;
    };
    loading.set(true);
    leptos::task::spawn_local(async move {
        let page = match dir {
            Dir::Before => api::messages_before(&room, at, &who).await,
            Dir::After => api::messages_since(&room, at, &who).await,
        };
        let on_screen = chat
            .session
            .with_untracked(|s| s.screen_room() == Some(room.as_str()));
        let added = match page {
            Ok(page) if on_screen => chat.session.try_update(|s| match dir {
                Dir::Before => s.add_before(&room, at, page),
                Dir::After => s.add_after(&room, at, page),
            }),
            Ok(_) => None,
            Err(_) => {
                // Still "loading" for a moment: the next try comes after it, not at once.
                crate::socket::sleep(RETRY_MS).await;
                None
            }
        };
        loading.set(false);
        if let Some(added) = added {
            done(added);
        }
    });
}
