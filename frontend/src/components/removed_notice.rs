//! The notice of `removed`: the room (or conversation) is already gone from the list; this says
//! why, moves the address off it, and keeps the stored room list without it (a reload must not
//! ask to join it again).

use leptos::prelude::*;

use crate::prefs;
use crate::socket::use_chat;
use crate::state::{Session, hash_for_room};

/// Says that the user was removed from a room, until dismissed.
#[component]
pub fn RemovedNotice() -> impl IntoView {
    let chat = use_chat();
    let removed = Memo::new(move |_| chat.session.with(|s| s.removed.clone()));
    Effect::new(move |_| {
        let Some(gone) = removed.get() else { return };
        let (rooms, room) = chat
            .session
            .with_untracked(|s| (s.my_rooms.clone(), s.room.clone()));
        prefs::save_rooms(&rooms);
        let hash = window().location().hash().unwrap_or_default();
        if hash == hash_for_room(&gone)
            || (hash.starts_with("#/dm/") && chat.session.with_untracked(|s| s.dm.is_none()))
        {
            let _ = window().location().set_hash(&hash_for_room(&room));
        }
    });
    view! {
        <p class="notice warn" id="removed-notice" role="alert" hidden=move || removed.with(Option::is_none)>
            <span>{move || removed.get().map(|r| Session::removed_sentence(&r))}</span>
            <button type="button" class="link" on:click=move |_| chat.session.update(|s| s.removed = None)>
                "Dismiss"
            </button>
        </p>
    }
}
