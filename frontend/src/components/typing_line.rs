//! "ada is typing…" under the messages of the room (or conversation) on screen.

use leptos::prelude::*;

use crate::socket::use_chat;

/// Who is typing in the room on screen (the user never sees themselves).
#[component]
pub fn TypingLine() -> impl IntoView {
    let chat = use_chat();
    let text = Memo::new(move |_| {
        chat.session.with(|s| {
            let me = s.name.as_deref().unwrap_or_default();
            let names: Vec<&str> = s
                .current()
                .map(|r| {
                    r.typing
                        .iter()
                        .map(|(u, _)| u.as_str())
                        .filter(|u| *u != me)
                        .collect()
                })
                .unwrap_or_default();
            match names.as_slice() {
                [] => String::new(),
                [one] => format!("{one} is typing…"),
                [a, b] => format!("{a} and {b} are typing…"),
                _ => "Several people are typing…".into(),
            }
        })
    });
    view! {
        <p id="typing" class="typing" aria-live="polite">
            {move || text.get()}
        </p>
    }
}
