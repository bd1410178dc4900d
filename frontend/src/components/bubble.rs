//! One chat message as a bubble: who, when (full date on hover), and the text as safe rich text.
//! A message that continues its author's group (same author, same minute) hides its header.
//! v1.2: "(edited)" with the edit's time on hover, "message deleted" in place of a deleted
//! one, its reactions, its thread's replies, and its actions (hover, keyboard focus, or a
//! long-press on a phone); the user's own message is edited in place; its files (`file_view`).

use std::sync::Arc;

use banter_protocol::ChatMessage;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::edit_box::EditBox;
use super::file_view::MessageFiles;
use super::long_press::LongPress;
use super::msg_actions::MsgActions;
use super::msg_ui::{focus_later, use_msg_ui};
use super::reactions::{EmojiPicker, ReactionBar};
use super::rich_text;
use crate::socket::use_chat;

/// A stored message.
#[component]
pub fn Bubble(
    /// The message to show.
    msg: Arc<ChatMessage>,
    /// Whether the current user wrote it (shown on the other side, in the accent colour).
    own: bool,
    /// Whether it continues the previous message's group (its name and time are then only
    /// for screen readers and hover).
    #[prop(optional)]
    cont: bool,
    /// The current user's name, to mark mentions of them.
    #[prop(optional, into)]
    me: String,
    /// Shown in the thread pane (no thread link, no "Reply in a thread").
    #[prop(optional)]
    in_thread: bool,
) -> impl IntoView {
    let ui = use_msg_ui();
    let seq = msg.seq;
    let (short, full) = local_time(msg.ts);
    let hover = full.clone();
    let mentions_me = !own && !me.is_empty() && crate::markup::mentions_me(&msg.text, &me);
    // A long-press (the phone's context menu, or our own timer where there is none: iOS)
    // shows the actions.
    let touched = RwSignal::new(false);
    let press = LongPress::new();
    let deleted = msg.deleted;
    let edited = msg
        .edited_ts
        .map(|ts| format!("Edited {}", local_time(ts).1));
    // Only this message's own editing state re-renders its body (not every edit elsewhere).
    let editing = own.then(|| Memo::new(move |_| ui.editing.get() == Some(seq)));
    let body = {
        let (msg, me) = (msg.clone(), me.clone());
        move || {
            if msg.deleted {
                return view! { <p class="msg-text deleted-text">"message deleted"</p> }.into_any();
            }
            if editing.is_some_and(|e| e.get()) {
                return view! { <EditBox seq=seq text=msg.text.clone() /> }.into_any();
            }
            // The text is built as DOM nodes once the element exists (see `rich_text`).
            let text_el = NodeRef::<leptos::html::Div>::new();
            let (text, who) = (msg.text.clone(), me.clone());
            text_el.on_load(move |el| rich_text::fill(&el, &text, &who));
            view! { <div class="msg-text" node_ref=text_el></div> }.into_any()
        }
    };
    let files = (!deleted && !msg.files.is_empty())
        .then(|| view! { <MessageFiles files=msg.files.clone() /> });
    let extras = (!deleted).then(|| {
        view! {
            <ReactionBar msg=msg.clone() me=me.clone() />
            {move || (ui.picker.get() == Some(seq)).then(|| view! { <EmojiPicker seq=seq /> })}
            {(!in_thread).then(|| view! { <ThreadLink msg=msg.clone() /> })}
            <MsgActions seq=seq own=own in_thread=in_thread />
        }
    });
    view! {
        <li
            class="msg"
            class:own=own
            class:cont=cont
            class:mentions-me=mentions_me
            class:deleted=deleted
            class:touched=move || touched.get()
            data-seq=seq
            title=hover
            tabindex="0"
            on:contextmenu=move |ev| {
                if !deleted {
                    ev.prevent_default();
                    // The browser's own long-press menu: ours stands down (before its timer)
                    // or has already opened the actions (after it).
                    press.cancel();
                    if !press.fired() {
                        touched.update(|t| *t = !*t);
                    }
                }
            }
            on:touchstart=move |_| if !deleted {
                press.start(move || touched.update(|t| *t = !*t));
            }
            on:touchmove=move |_| press.cancel()
            on:touchcancel=move |_| press.cancel()
            on:touchend=move |ev| if press.end() {
                // The press opened the actions: the lift is not a tap on what lies under it.
                ev.prevent_default();
            }
        >
            <div class="meta">
                <span class="msg-user">{msg.user.clone()}</span>
                <time class="msg-time" title=full>
                    {short}
                </time>
                {edited.map(|when| view! { <span class="edited" title=when>"(edited)"</span> })}
            </div>
            {body}
            {files}
            {extras}
        </li>
    }
}

/// "3 replies" under a thread's root (with how many are new), opening the thread pane.
#[component]
fn ThreadLink(msg: Arc<ChatMessage>) -> impl IntoView {
    let chat = use_chat();
    let ui = use_msg_ui();
    let seq = msg.seq;
    let count = msg.replies.unwrap_or(0);
    let unread = Memo::new(move |_| chat.session.with(|s| s.thread_unread(seq)));
    (count > 0).then(|| {
        let label = match count {
            1 => "1 reply".to_string(),
            n => format!("{n} replies"),
        };
        view! {
            <button
                type="button"
                class="link thread-link"
                on:click=move |_| {
                    ui.thread.set(Some(seq));
                    chat.open_thread(seq);
                    focus_later("#thread-input".into());
                }
            >
                {label}
                {move || match unread.get() {
                    0 => None,
                    n => Some(view! { <span class="badge unread thread-unread">{format!("{n} new")}</span> }),
                }}
            </button>
        }
    })
}

/// `HH:MM` and the full local date and time (`Thu 2026-11-26 14:05:09`).
pub(crate) fn local_time(ts: u64) -> (String, String) {
    let d = js_sys::Date::new(&JsValue::from_f64(ts as f64));
    let short = format!("{:02}:{:02}", d.get_hours(), d.get_minutes());
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let full = format!(
        "{} {:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        DAYS[(d.get_day() % 7) as usize],
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    );
    (short, full)
}

/// The local calendar day of `ts` as a number (`YYYYMMDD`), for day separators.
pub(crate) fn local_day(ts: u64) -> u32 {
    let d = js_sys::Date::new(&JsValue::from_f64(ts as f64));
    d.get_full_year() * 10_000 + (d.get_month() + 1) * 100 + d.get_date()
}

/// "Today", "Yesterday", or the date written out, for a day separator.
pub(crate) fn day_label(ts: u64) -> String {
    let now = js_sys::Date::now();
    let today = local_day(now as u64);
    let yesterday = local_day((now - 86_400_000.0).max(0.0) as u64);
    match local_day(ts) {
        d if d == today => "Today".into(),
        d if d == yesterday => "Yesterday".into(),
        _ => {
            let d = js_sys::Date::new(&JsValue::from_f64(ts as f64));
            const MONTHS: [&str; 12] = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            const DAYS: [&str; 7] = [
                "Sunday",
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
            ];
            format!(
                "{}, {} {} {}",
                DAYS[(d.get_day() % 7) as usize],
                d.get_date(),
                MONTHS[(d.get_month() % 12) as usize],
                d.get_full_year()
            )
        }
    }
}
