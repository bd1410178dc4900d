//! The `Chat` side of the user's stored room list (`state/room_list.rs` has the rules): read
//! once per connection, and told of each room joined or left here.

use leptos::prelude::*;

use super::Chat;
use crate::{api, prefs};

impl Chat {
    /// Reads the server's list of the user's rooms and takes it: joins what was joined
    /// elsewhere, leaves what was left elsewhere, puts this page's own rooms on it.
    pub(super) fn sync_room_list(&self) {
        let chat = *self;
        let who = self.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            let Ok(stored) = api::my_rooms(&who).await else {
                return;
            };
            let Some((taken, rooms)) = chat
                .session
                .try_update(|s| (s.take_room_list(&stored), s.my_rooms.clone()))
            else {
                return;
            };
            prefs::save_rooms(&rooms);
            chat.push(taken.frames);
            for room in taken.upload {
                let _ = api::set_my_room(&room, true, &who).await;
            }
        });
    }

    /// Tells the server the user joined (`on`) or left `room`, for their other devices.
    /// Before the user is known (a room link opened before the name is chosen) nothing is
    /// sent: the list is read and this page's rooms put on it once connected.
    pub(super) fn store_room(&self, room: &str, on: bool) {
        let (room, who) = (room.to_string(), self.session.with_untracked(|s| s.who()));
        if who.token.is_none() && who.name.is_none() {
            return;
        }
        leptos::task::spawn_local(async move {
            let _ = api::set_my_room(&room, on, &who).await;
        });
    }
}
