//! Notices above the messages: missing history, a bad room address, a server refusal.

use leptos::prelude::*;

use crate::socket::use_chat;

/// The notices that apply to the room on screen.
#[component]
pub fn Notices(
    /// Why the address does not name a room, if it does not.
    route_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let chat = use_chat();
    let gap = Memo::new(move |_| chat.session.with(|s| s.current().and_then(|r| r.gap)));
    let notice = Memo::new(move |_| chat.session.with(|s| s.notice.clone()));

    view! {
        <div class="notices" aria-live="polite">
            {move || {
                gap.get()
                    .map(|g| {
                        view! {
                            <p class="notice" id="history-notice">
                                {g.describe()}
                            </p>
                        }
                    })
            }}
            {move || {
                route_error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="notice warn" id="route-error">
                                {e}
                            </p>
                        }
                    })
            }}
            {move || {
                notice
                    .get()
                    .map(|n| {
                        view! {
                            <p class="notice warn" id="server-notice">
                                <span>{n}</span>
                                <button
                                    type="button"
                                    class="link"
                                    on:click=move |_| chat.dismiss_notice()
                                >
                                    "Dismiss"
                                </button>
                            </p>
                        }
                    })
            }}
        </div>
    }
}
