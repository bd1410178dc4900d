//! What the message views share of the user's lifecycle actions in progress (UI state only;
//! the messages' state is the session's): the message being edited, the thread open in the
//! side pane, the message whose emoji picker is open. Reset when another room comes on screen.

use leptos::prelude::*;

use crate::socket::use_chat;

/// See the module docs. Cheap to copy.
#[derive(Clone, Copy)]
pub struct MsgUi {
    /// The `seq` of the user's message being edited in place.
    pub editing: RwSignal<Option<u64>>,
    /// The root `seq` of the thread open in the side pane (a sheet on a phone).
    pub thread: RwSignal<Option<u64>>,
    /// The `seq` of the message whose emoji picker is open.
    pub picker: RwSignal<Option<u64>>,
}

/// Creates the shared state and provides it as context.
pub fn provide_msg_ui() -> MsgUi {
    let chat = use_chat();
    let ui = MsgUi {
        editing: RwSignal::new(None),
        thread: RwSignal::new(None),
        picker: RwSignal::new(None),
    };
    let room = Memo::new(move |_| chat.session.with(|s| s.view_key()));
    Effect::new(move |prev: Option<String>| {
        let now = room.get();
        if prev.is_some_and(|p| p != now) {
            for open in [ui.editing, ui.thread, ui.picker] {
                if open.with_untracked(Option::is_some) {
                    open.set(None);
                }
            }
        }
        now
    });
    provide_context(ui);
    ui
}

/// The state provided by [`provide_msg_ui`].
pub fn use_msg_ui() -> MsgUi {
    expect_context::<MsgUi>()
}

/// Focuses the first element matching `selector` after the next render.
pub fn focus_later(selector: String) {
    request_animation_frame(move || {
        if let Ok(Some(el)) = document().query_selector(&selector)
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            let _ = el.focus();
        }
    });
}
