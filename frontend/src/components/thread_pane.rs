//! A thread in a side pane (a sheet from the bottom on a phone): its root, its replies, the
//! user's replies still pending, and its own composer. Escape or × closes it; while it is
//! open its new replies count as read.

use std::sync::Arc;

use banter_protocol::ChatMessage;
use leptos::prelude::*;

use super::msg_ui::{focus_later, use_msg_ui};
use super::{Bubble, PendingBubble};
use crate::socket::use_chat;
use crate::state::{PendingOp, PendingSend};

/// The thread pane (nothing when no thread is open).
#[component]
pub fn ThreadPane() -> impl IntoView {
    let ui = use_msg_ui();
    move || ui.thread.get().map(|root| view! { <Thread root=root /> })
}

#[component]
fn Thread(root: u64) -> impl IntoView {
    let chat = use_chat();
    let ui = use_msg_ui();
    let me = Memo::new(move |_| chat.session.with(|s| s.name.clone().unwrap_or_default()));
    let messages = Memo::new(move |_| {
        chat.session.with(|s| {
            let Some(st) = s.current_store() else {
                return Vec::new();
            };
            let mut out: Vec<Arc<ChatMessage>> = st.get(root).cloned().into_iter().collect();
            out.extend(st.thread(root).cloned());
            out
        })
    });
    let pending = Memo::new(move |_| {
        chat.session.with(|s| {
            let key = s.view_key();
            s.pending()
                .in_room(&key)
                .filter(|p| p.op == PendingOp::Reply { reply_to: root })
                .cloned()
                .collect::<Vec<PendingSend>>()
        })
    });
    // What arrives while the pane is open is read.
    Effect::new(move |_| {
        messages.track();
        chat.session.update_untracked(|s| s.mark_thread_read(root));
    });
    let close = move || {
        ui.thread.set(None);
        focus_later("#composer-input".into());
    };
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move || {
        let t = text.get_untracked();
        if t.trim().is_empty() {
            error.set(Some("Write a reply first.".into()));
            return;
        }
        match chat.reply(root, &t) {
            Ok(()) => {
                text.set(String::new());
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <aside
            id="thread-pane"
            class="thread-pane"
            aria-label="Thread"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    close();
                }
            }
        >
            <header class="thread-head">
                <h2>"Thread"</h2>
                <button
                    type="button"
                    class="icon"
                    id="thread-close"
                    aria-label="Close the thread"
                    on:click=move |_| close()
                >
                    "×"
                </button>
            </header>
            <ol class="messages thread-messages" role="log" aria-live="polite">
                <For
                    each=move || messages.get()
                    key=|m| super::message_list::version_key(m, false)
                    children=move |m| {
                        let me = me.get_untracked();
                        let own = m.user == me;
                        view! { <Bubble msg=m own=own me=me in_thread=true /> }
                    }
                />
                <For
                    each=move || pending.get()
                    key=PendingSend::view_key
                    children=move |p| view! { <PendingBubble pending=p /> }
                />
            </ol>
            <form
                class="composer thread-composer"
                novalidate
                on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    submit();
                }
            >
                <label for="thread-input" class="visually-hidden">
                    "Reply in the thread"
                </label>
                <textarea
                    id="thread-input"
                    rows="1"
                    placeholder="Reply…"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                            ev.prevent_default();
                            submit();
                        }
                    }
                ></textarea>
                <button type="submit" id="thread-send">
                    "Reply"
                </button>
                <p class="field-error" aria-live="polite">{move || error.get()}</p>
            </form>
        </aside>
    }
}
