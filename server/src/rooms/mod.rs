//! Private rooms, roles and moderation (v1.2, issue 18): [`access`] is the one rule of who may
//! do what in a room; [`moderate`] carries out a moderation action (store the standing, then
//! record the action as an entry of the room's sequence); [`groups`] makes group
//! conversations (private rooms of 2 to `--max-conversation-members` people). The HTTP routes
//! are `http/rooms.rs`; the flags `config/rooms.rs`.

pub mod access;
pub mod groups;
pub mod moderate;
