//! The messages on screen (a room's, or a conversation's): a window of the newest ones in the
//! DOM, grouped by author and minute, with day separators and quiet join/leave lines; autoscroll
//! that respects a reader who scrolled up, and a "new messages" pill for them.

use std::sync::Arc;

use banter_protocol::ChatMessage;
use leptos::prelude::*;

use super::bubble::{day_label, local_day};
use super::scrollback::{Dir, fetch_page, offset_of, place_of, restore_place};
use super::{Bubble, PendingBubble};
use crate::socket::use_chat;
use crate::state::{MessageStore, PendingOp, PendingSend, PresenceSummary};

/// One line of the list.
#[derive(Clone)]
enum Row {
    /// A new calendar day starts.
    Day(u32, String),
    /// A message; `cont` when it continues its author's group.
    Msg(Arc<ChatMessage>, bool),
    /// People joined or left (collapsed).
    Event(PresenceSummary),
    /// The user's read position when they opened the room: "new messages" below.
    Unread(u64),
}

impl Row {
    fn key(&self) -> String {
        match self {
            Row::Day(day, _) => format!("d{day}"),
            Row::Msg(m, cont) => version_key(m, *cont),
            Row::Event(e) => format!("e{}", e.key),
            Row::Unread(seq) => format!("u{seq}"),
        }
    }
}

/// A message's key in a keyed list: its id and what of its state shows (an edit, a deletion,
/// reactions, replies), so a change re-renders that one bubble and nothing else.
pub(super) fn version_key(m: &ChatMessage, cont: bool) -> String {
    let reactions: String = m
        .reactions
        .iter()
        .map(|r| format!("{}{}", r.emoji, r.users.len()))
        .collect();
    format!(
        "m{}{}:{}:{}:{reactions}:{}",
        m.id,
        if cont { "+" } else { "" },
        m.edited_ts.unwrap_or(0),
        m.deleted,
        m.replies.unwrap_or(0)
    )
}

/// Lays out `messages` (oldest first) with day separators, grouping and the presence lines that
/// fall inside the window, and the "new messages" line after `line`. Presence lines before a
/// message that starts a day go under its separator (they happened live, so on that day or later).
fn rows(messages: &[Arc<ChatMessage>], events: &[PresenceSummary], line: Option<u64>) -> Vec<Row> {
    let mut line = line;
    let mut out = Vec::with_capacity(messages.len() + 8);
    let first = messages.first().map_or(0, |m| m.seq);
    let mut events = events
        .iter()
        .filter(|e| messages.is_empty() || e.after_seq + 1 >= first)
        .peekable();
    // The previous message's author and minute (none after a separator or a presence line).
    let mut prev: Option<(&str, u64)> = None;
    let mut last_day = None;
    for m in messages {
        let day = local_day(m.ts);
        if last_day != Some(day) {
            out.push(Row::Day(day, day_label(m.ts)));
            last_day = Some(day);
            prev = None;
        }
        while let Some(e) = events.next_if(|e| e.after_seq < m.seq) {
            out.push(Row::Event(e.clone()));
            prev = None;
        }
        if let Some(at) = line.filter(|at| m.seq > *at) {
            out.push(Row::Unread(at));
            line = None;
            prev = None;
        }
        let minute = m.ts / 60_000;
        let cont = prev.is_some_and(|(u, min)| u == m.user && min == minute);
        out.push(Row::Msg(m.clone(), cont));
        prev = Some((&m.user, minute));
    }
    out.extend(events.cloned().map(Row::Event));
    out
}

/// How many of the newest messages are in the DOM while following, and how many more each "Show
/// earlier" adds. The store may hold thousands; the DOM stays small, so a busy room stays smooth.
/// A reader who scrolled up holds their place: the window then grows at the end instead of
/// sliding, so nothing moves under their eyes, and shrinks back once they return to the bottom.
pub const WINDOW: usize = 200;

/// The most messages in the DOM while the reader holds a place. Past it, newer ones wait (the
/// pill counts them) until the reader comes back down.
pub const HELD_MAX: usize = 1_000;

/// How close to the bottom (in pixels) still counts as "at the bottom".
const STICK_SLACK: i32 = 48;

/// How close to the top (in pixels) starts loading older messages (held, else from the server).
const TOP_SLACK: i32 = 80;

/// How close to the bottom (in pixels) of a window that ends before the newest message starts
/// showing (or loading) the messages after it.
const BOTTOM_SLACK: i32 = 400;

/// The scrolling list of the current room's messages, then the user's pending ones.
#[component]
pub fn MessageList() -> impl IntoView {
    let chat = use_chat();
    // The first seq shown while the reader holds a place; `None` follows the newest.
    let anchor = RwSignal::new(None::<u64>);
    // How many messages a held window shows from `anchor` on (grows as the reader scrolls).
    let span = RwSignal::new(HELD_MAX);
    // A search result being shown: highlighted (and scrolled to once drawn: `to_target`).
    let target = RwSignal::new(None::<u64>);
    let to_target = RwSignal::new(false);
    // The room, or `@peer` for a conversation.
    let room = Memo::new(move |_| chat.session.with(|s| s.view_key()));
    let me = Memo::new(move |_| chat.session.with(|s| s.name.clone()));
    // The window of one held stretch of history (`state::ranges`), never across a hole.
    let shown = Memo::new(move |_| {
        let (first, span) = (anchor.get(), span.get());
        chat.session.with(|s| s.shown(first, WINDOW, span))
    });
    // While the room's replay is still coming in (a long history arrives in several batches),
    // the list keeps what it drew and draws once at the end, not once per batch.
    let replaying = Memo::new(move |_| chat.session.with(|s| s.replaying_on_screen()));
    // A conversation is shown like a room (its messages are stored under its id).
    let messages = Memo::new(move |prev: Option<&Vec<Arc<ChatMessage>>>| {
        if let Some(prev) = prev
            && replaying.get()
        {
            return prev.clone();
        }
        // Replies live in their thread's pane; the root shows their count.
        shown.with(|w| {
            let mut shown = w.messages.clone();
            shown.retain(|m| m.reply_to.is_none());
            shown
        })
    });
    let events = Memo::new(move |_| {
        chat.session.with(|s| {
            s.current()
                .map(crate::state::quiet_lines)
                .unwrap_or_default()
        })
    });
    let total = Memo::new(move |_| {
        chat.session
            .with(|s| s.current_store().map_or(0, MessageStore::len))
    });
    let latest = Memo::new(move |_| {
        chat.session
            .with(|s| s.current_store().map_or(0, MessageStore::high_seq))
    });
    // Held messages older than the first one shown, in the same stretch (newer ones never
    // count here: they are what the "new messages" pill is for).
    let hidden_older = Memo::new(move |_| shown.with(|w| w.older_held));
    let pending = Memo::new(move |_| {
        let key = room.get();
        chat.session.with(|s| {
            s.pending()
                .in_room(&key)
                .filter(|p| p.op == PendingOp::Send)
                .cloned()
                .collect::<Vec<PendingSend>>()
        })
    });

    let scroller = NodeRef::<leptos::html::Div>::new();
    // Follow new messages while the reader is at the bottom.
    let stick = RwSignal::new(true);
    // The newest seq the reader has had on screen.
    let seen = RwSignal::new(0u64);

    let to_bottom = move || {
        anchor.set(None);
        target.set(None);
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        stick.set(true);
        seen.set(latest.get_untracked());
    };

    // A new room starts at the bottom with the default window.
    Effect::new(move |prev: Option<String>| {
        let r = room.get();
        if prev.is_some_and(|p| p != r) {
            anchor.set(None);
            target.set(None);
            stick.set(true);
        }
        r
    });

    // Where "new messages" starts in the room on screen (see `Session::unread_line`).
    let unread_line = Memo::new(move |_| {
        chat.session.with(|s| {
            s.unread_line
                .as_ref()
                .filter(|(r, _)| s.screen_room() == Some(r.as_str()))
                .map(|(_, seq)| *seq)
        })
    });

    // A search result to show (`Session::jump`): hold a window from a few messages above it,
    // scroll it into view and highlight it.
    Effect::new(move |_| {
        let Some((to, seq)) = chat.session.with(|s| s.jump.clone()) else {
            return;
        };
        if chat
            .session
            .with_untracked(|s| s.screen_room() != Some(to.as_str()))
        {
            return;
        }
        chat.session.update_untracked(|s| s.jump = None);
        stick.set(false);
        target.set(Some(seq));
        span.set(WINDOW);
        anchor.set(
            chat.session
                .with_untracked(|s| s.current_store().and_then(|st| st.seq_before(seq, 10))),
        );
        // Scrolled to once drawn (see the highlight below): the list may still be waiting for
        // the room's replay.
        to_target.set(true);
    });

    // After the list changes (the DOM is updated by the next frame), keep to the bottom if the
    // reader was there. Sending a message always brings the reader down to it.
    Effect::new(move |prev_pending: Option<usize>| {
        messages.track();
        room.track();
        let pending_now = pending.with(Vec::len);
        if prev_pending.is_some_and(|p| pending_now > p) {
            stick.set(true);
        }
        if stick.get_untracked() {
            request_animation_frame(to_bottom);
        }
        pending_now
    });

    // Pages from the server: older ones at the top, newer ones below a stretch read far back.
    let loading = RwSignal::new(false);
    let loading_later = RwSignal::new(false);
    let more_on_server = Memo::new(move |_| shown.with(|w| w.fetch_before.is_some()));
    let fetch_earlier = move || {
        let (Some(before), Some(el)) = (
            shown.with_untracked(|w| w.fetch_before),
            scroller.get_untracked(),
        ) else {
            return;
        };
        // Keep the reader's place while the older page is added above.
        let keep = messages.with_untracked(|m| m.first().map(|m| m.seq));
        fetch_page(chat, Dir::Before, before, loading, move |added| {
            let place = place_of(&el, keep);
            if added > 0 {
                stick.set(false);
                span.update(|n| *n = (*n + WINDOW).min(HELD_MAX));
                anchor.set(chat.session.with_untracked(|s| {
                    let st = s.current_store()?;
                    keep.and_then(|k| st.seq_before(k, added))
                }));
                restore_place(el, keep, place);
            }
        });
    };

    // More held messages below the window: it grows, then slides down (what the reader sees
    // stays put).
    let advance = move || {
        let (Some(first), Some(el)) = (anchor.get_untracked(), scroller.get_untracked()) else {
            return;
        };
        if shown.with_untracked(|w| w.newer_held) == 0 {
            return;
        }
        if span.get_untracked() < HELD_MAX {
            span.update(|n| *n = (*n + WINDOW).min(HELD_MAX));
            return;
        }
        let keep = messages.with_untracked(|m| m.last().map(|m| m.seq));
        let place = place_of(&el, keep);
        let next = chat.session.with_untracked(|s| {
            s.current_store()?
                .between(first + 1, u64::MAX)
                .nth(WINDOW - 1)
                .map(|m| m.seq)
        });
        anchor.set(next.or(Some(first)));
        restore_place(el, keep, place);
    };

    // Below the window: more held messages, else the next page of a stretch read far back
    // (shown as soon as it comes: the reader is at the bottom waiting for it).
    let show_later = move || match shown.with_untracked(|w| (w.newer_held, w.fetch_after)) {
        (0, Some(since)) => fetch_page(chat, Dir::After, since, loading_later, move |_| advance()),
        (0, None) => {}
        _ => advance(),
    };

    // The reader at the bottom of a stretch read far back gets the next page without having
    // to scroll again: checked after every change of the list and when a page's fetch ends (a
    // scroll to the very bottom fires no more scroll events, so an event alone could miss it).
    Effect::new(move |_| {
        messages.track();
        if loading_later.get() {
            return;
        }
        request_animation_frame(move || {
            let Some(el) = scroller.get_untracked() else {
                return;
            };
            // Not while a search result is being scrolled to: the place is the old one.
            if to_target.get_untracked() {
                return;
            }
            let gap = el.scroll_height() - el.scroll_top() - el.client_height();
            let live_end = shown.with_untracked(|w| w.at_live_end());
            if !live_end && !stick.get_untracked() && gap <= BOTTOM_SLACK {
                show_later();
            }
        });
    });

    let show_earlier = move || {
        if hidden_older.get_untracked() == 0 {
            fetch_earlier();
            return;
        }
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        // Keep the reader's place while older messages are added above.
        let first = messages.with_untracked(|m| m.first().map(|m| m.seq));
        let place = place_of(&el, first);
        let earlier = chat.session.with_untracked(|s| {
            s.current_store()
                .zip(first)
                .and_then(|(st, first)| st.seq_before(first, WINDOW))
        });
        stick.set(false);
        if anchor.get_untracked().is_some() {
            span.update(|n| *n = (*n + WINDOW).min(HELD_MAX));
        } else {
            span.set(HELD_MAX);
        }
        anchor.set(earlier);
        restore_place(el, first, place);
    };

    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let gap = el.scroll_height() - el.scroll_top() - el.client_height();
        let live_end = shown.with_untracked(|w| w.at_live_end());
        let at_bottom = gap <= STICK_SLACK && live_end;
        if at_bottom != stick.get_untracked() {
            stick.set(at_bottom);
        }
        if at_bottom {
            seen.set(latest.get_untracked());
            anchor.set(None);
            target.set(None);
        } else if anchor.get_untracked().is_none() {
            // Hold the place: same list as now, so nothing re-renders.
            span.set(HELD_MAX);
            anchor.set(messages.with_untracked(|m| m.first().map(|m| m.seq)));
        }
        if !live_end && gap <= BOTTOM_SLACK {
            show_later();
        }
        // At the top: older messages, held or from the server, come by themselves.
        // (Only for a reader who scrolled up: a short list is always "at the top".)
        if !at_bottom && el.scroll_top() <= TOP_SLACK {
            show_earlier();
        }
    };

    let button_label = move || match (hidden_older.get(), loading.get()) {
        (0, true) => "Loading earlier messages…".to_string(),
        (0, false) => "Load earlier messages".to_string(),
        (n, _) => format!("Show earlier messages ({n} more)"),
    };

    // The search result shown stays highlighted while it is in the window.
    Effect::new(move |_| {
        messages.track();
        let Some(seq) = target.get() else {
            return;
        };
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked()
                && let Ok(Some(li)) = el.query_selector(&format!("li[data-seq=\"{seq}\"]"))
            {
                let _ = li.class_list().add_1("jump-target");
                if to_target.get_untracked()
                    && let Some(top) = offset_of(&el, seq)
                {
                    to_target.set(false);
                    el.set_scroll_top(top - 40);
                }
            }
        });
    });

    let unseen = Memo::new(move |_| {
        if stick.get() {
            0
        } else {
            latest.get().saturating_sub(seen.get())
        }
    });

    view! {
        <div
            class="scroller"
            node_ref=scroller
            on:scroll=on_scroll
            tabindex="0"
            aria-label="Messages"
            data-follow=move || if stick.get() { "true" } else { "false" }
        >
            <button
                type="button"
                class="secondary earlier"
                id="show-earlier"
                hidden=move || { hidden_older.get() == 0 && !more_on_server.get() }
                on:click=move |_| show_earlier()
            >
                {button_label}
            </button>
            <p class="empty" hidden=move || { total.get() > 0 || pending.with(|p| !p.is_empty()) }>
                "No messages yet. Say hello!"
            </p>
            <ol id="messages" class="messages" role="log" aria-live="polite">
                <li class="loading-row" id="loading-earlier" role="status" hidden=move || !loading.get()>
                    "Loading earlier messages…"
                </li>
                <For
                    each=move || messages.with(|m| events.with(|e| rows(m, e, unread_line.get())))
                    key=Row::key
                    children=move |row| {
                        // Day separators and join/leave lines share one element shape.
                        let (class, role, text) = match row {
                            Row::Msg(m, cont) => {
                                let me = me.get_untracked().unwrap_or_default();
                                let own = me == m.user;
                                return view! { <Bubble msg=m own=own cont=cont me=me /> }
                                    .into_any();
                            }
                            Row::Day(_, label) => ("day-sep", Some("separator"), label),
                            Row::Unread(_) => ("unread-line", Some("separator"), "New messages".to_string()),
                            Row::Event(e) => ("presence-line", None, e.text),
                        };
                        let aria = role.map(|_| text.clone());
                        view! {
                            <li class=class role=role aria-label=aria>
                                <span>{text}</span>
                            </li>
                        }
                            .into_any()
                    }
                />
                <li class="loading-row" id="loading-later" role="status"
                    hidden=move || !loading_later.get()
                    data-pending=move || shown.with(|w| w.fetch_after.map(|s| s.to_string()))
                >
                    "Loading newer messages…"
                </li>
                <For
                    each=move || pending.get()
                    key=PendingSend::view_key
                    children=move |p| view! { <PendingBubble pending=p /> }
                />
            </ol>
            <button
                type="button"
                class="pill"
                id="new-messages"
                hidden=move || { unseen.get() == 0 }
                on:click=move |_| to_bottom()
            >
                {move || match unseen.get() {
                    1 => "1 new message ↓".to_string(),
                    n => format!("{n} new messages ↓"),
                }}
            </button>
        </div>
    }
}
