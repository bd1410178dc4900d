//! One chat message as a bubble: who, when (full date on hover), and the text as safe rich text.
//! A message that continues its author's group (same author, same minute) hides its header.

use std::sync::Arc;

use banter_protocol::ChatMessage;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::rich_text;

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
) -> impl IntoView {
    let (short, full) = local_time(msg.ts);
    let hover = full.clone();
    // The text is built as DOM nodes once the element exists (see `rich_text`).
    let text_el = NodeRef::<leptos::html::Div>::new();
    let (text, who) = (msg.text.clone(), me.clone());
    text_el.on_load(move |el| rich_text::fill(&el, &text, &who));
    let mentions_me = !own && !me.is_empty() && crate::markup::mentions_me(&msg.text, &me);
    view! {
        <li class="msg" class:own=own class:cont=cont class:mentions-me=mentions_me data-seq=msg.seq title=hover>
            <div class="meta">
                <span class="msg-user">{msg.user.clone()}</span>
                <time class="msg-time" title=full>
                    {short}
                </time>
            </div>
            <div class="msg-text" node_ref=text_el></div>
        </li>
    }
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
