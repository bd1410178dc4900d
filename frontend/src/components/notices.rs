//! Notices above the messages: missing history, a bad room address, a server refusal.

use leptos::prelude::*;

use crate::socket::use_chat;
use crate::state::Gap;

/// The notices that apply to the room on screen.
#[component]
pub fn Notices(
    /// Why the address does not name a room, if it does not.
    route_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let chat = use_chat();
    let gap = Memo::new(move |_| {
        chat.session.with(|s| {
            let room = s.current()?;
            let gap = room.gap?;
            // A server that pages back (`before=`) still has the older ones: say how to see them.
            Some(
                match gap {
                    Gap::OlderNotKept if s.current_more_on_server() => {
                        "Older messages load when you scroll up."
                    }
                    other => other.describe(),
                }
                .to_string(),
            )
        })
    });
    let notice = Memo::new(move |_| chat.session.with(|s| s.notice.clone()));
    let left = Memo::new(move |_| chat.session.with(|s| s.left.clone()));

    view! {
        <div class="notices" aria-live="polite">
            <p class="notice" id="history-notice" hidden=move || gap.get().is_none()>
                <span>{move || gap.get()}</span>
                <button type="button" class="link" id="history-dismiss" on:click=move |_| chat.dismiss_gap()>
                    "Dismiss"
                </button>
            </p>
            <p class="notice" id="left-notice" hidden=move || left.with(Option::is_none)>
                <span>{move || format!("You left #{}.", left.get().unwrap_or_default())}</span>
                <button type="button" class="link" id="undo-leave" on:click=move |_| chat.undo_leave()>
                    "Undo"
                </button>
                <button
                    type="button"
                    class="link"
                    aria-label="Dismiss"
                    on:click=move |_| chat.session.update(|s| s.left = None)
                >
                    "Dismiss"
                </button>
            </p>
            <p class="notice warn" id="route-error" hidden=move || route_error.with(Option::is_none)>
                {move || route_error.get()}
            </p>
            <p class="notice warn" id="server-notice" hidden=move || notice.with(Option::is_none)>
                <span>{move || notice.get()}</span>
                <button type="button" class="link" on:click=move |_| chat.dismiss_notice()>
                    "Dismiss"
                </button>
            </p>
        </div>
    }
}
