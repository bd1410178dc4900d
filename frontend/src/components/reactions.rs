//! A message's reactions: one chip per emoji with its count and who gave it (press to give or
//! take back yours), and the small picker: the user's recent emoji first, then common ones.

use std::sync::Arc;

use banter_protocol::ChatMessage;
use leptos::prelude::*;

use super::msg_ui::{focus_later, use_msg_ui};
use crate::socket::{Chat, use_chat};

/// The emoji offered to everyone, after the user's recent ones.
const COMMON: [&str; 8] = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];

/// How many emoji the picker shows (and how many recent ones are remembered).
const PICKER: usize = 8;

const RECENT_KEY: &str = "banter.recent-emoji";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The user's recent emoji, newest first (remembered by the browser).
fn recent() -> Vec<String> {
    let saved = storage().and_then(|s| s.get_item(RECENT_KEY).ok().flatten());
    let saved = saved.unwrap_or_default();
    saved
        .split(' ')
        .filter(|e| !e.is_empty())
        .take(PICKER)
        .map(str::to_string)
        .collect()
}

/// Remembers `emoji` as the most recent.
fn used(emoji: &str) {
    let mut list = recent();
    list.retain(|e| e != emoji);
    list.insert(0, emoji.to_string());
    list.truncate(PICKER);
    if let Some(s) = storage() {
        let _ = s.set_item(RECENT_KEY, &list.join(" "));
    }
}

/// What the picker offers: recent first, then the common ones, [`PICKER`] in all.
pub fn offered() -> Vec<String> {
    let mut list = recent();
    for e in COMMON {
        if !list.iter().any(|r| r == e) {
            list.push(e.to_string());
        }
    }
    list.truncate(PICKER);
    list
}

/// "ada", "ada and bob", "ada, bob and cy".
fn names(users: &[String]) -> String {
    match users {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Gives or takes back `emoji` on `seq`; a refusal shows as the page's notice.
fn toggle(chat: Chat, seq: u64, emoji: &str) {
    match chat.toggle_reaction(seq, emoji) {
        Ok(()) => used(emoji),
        Err(e) => chat.session.update(|s| s.notice = Some(e)),
    }
}

/// The chips of `msg`'s reactions (nothing when it has none).
#[component]
pub fn ReactionBar(msg: Arc<ChatMessage>, me: String) -> impl IntoView {
    let chat = use_chat();
    let seq = msg.seq;
    let chips = msg
        .reactions
        .iter()
        .map(|r| {
            let mine = r.users.contains(&me);
            let who = names(&r.users);
            let label = format!(
                "{} {}: {who}. {}",
                r.emoji,
                r.users.len(),
                if mine {
                    "Press to take yours back."
                } else {
                    "Press to add yours."
                }
            );
            let emoji = r.emoji.clone();
            view! {
                <button
                    type="button"
                    class="reaction"
                    class:mine=mine
                    aria-pressed=mine.to_string()
                    aria-label=label
                    title=who
                    data-emoji=r.emoji.clone()
                    on:click=move |_| toggle(chat, seq, &emoji)
                >
                    <span aria-hidden="true">{r.emoji.clone()}</span>
                    <span class="count" aria-hidden="true">{r.users.len()}</span>
                </button>
            }
        })
        .collect_view();
    (!msg.reactions.is_empty()).then(|| view! { <div class="reactions">{chips}</div> })
}

/// The emoji picker of message `seq`: Escape closes it, a choice reacts and closes it.
#[component]
pub fn EmojiPicker(seq: u64) -> impl IntoView {
    let chat = use_chat();
    let ui = use_msg_ui();
    let close = move || {
        ui.picker.set(None);
        focus_later(format!("li[data-seq=\"{seq}\"] .act-react"));
    };
    let buttons = offered()
        .into_iter()
        .map(|emoji| {
            let e = emoji.clone();
            view! {
                <button
                    type="button"
                    class="icon pick"
                    aria-label=format!("React with {emoji}")
                    data-emoji=emoji.clone()
                    on:click=move |_| {
                        toggle(chat, seq, &e);
                        close();
                    }
                >
                    {emoji.clone()}
                </button>
            }
        })
        .collect_view();
    focus_later(format!("li[data-seq=\"{seq}\"] .picker .pick"));
    view! {
        <div
            class="picker"
            role="group"
            aria-label="Pick a reaction"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.stop_propagation();
                    close();
                }
            }
        >
            {buttons}
        </div>
    }
}
