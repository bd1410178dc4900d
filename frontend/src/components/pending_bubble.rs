//! A message the user sent that the server has not acknowledged yet (or refused).

use leptos::prelude::*;

use crate::socket::{ConnState, use_chat};
use crate::state::{PendingSend, PendingState};

/// The user's own message while it waits for its `ack`; a refused one offers Retry / Discard.
#[component]
pub fn PendingBubble(
    /// The pending send to show.
    pending: PendingSend,
) -> impl IntoView {
    let chat = use_chat();
    let id = pending.client_id.clone();
    let status = match &pending.state {
        // Offline, it waits for the connection: say so, not "Sending…".
        PendingState::Queued | PendingState::InFlight => view! {
            <span class="msg-status">
                {move || match chat.conn.get() {
                    ConnState::Online => "Sending…",
                    _ => "Not sent yet: will send when connected",
                }}
            </span>
        }
        .into_any(),
        PendingState::Failed(reason) => {
            let (retry_id, discard_id) = (id.clone(), id.clone());
            view! {
                <span class="msg-status failed" role="alert">
                    {format!("Not sent: {reason}")}
                </span>
                <button
                    type="button"
                    class="link"
                    on:click=move |_| chat.retry(&retry_id)
                >
                    "Retry"
                </button>
                <button
                    type="button"
                    class="link"
                    on:click=move |_| chat.discard(&discard_id)
                >
                    "Discard"
                </button>
            }
            .into_any()
        }
    };
    let failed = matches!(pending.state, PendingState::Failed(_));
    let text = match (pending.text.is_empty(), pending.files.len()) {
        (true, 1) => "1 file".to_string(),
        (true, n) if n > 1 => format!("{n} files"),
        _ => pending.text,
    };
    view! {
        <li class="msg own pending" class:failed=failed data-client-id=id>
            <div class="meta">
                <span class="msg-user">"You"</span>
                {status}
            </div>
            <p class="msg-text">{text}</p>
        </li>
    }
}
