//! Private rooms, roles and moderation (v1.2, issue 18): [`access`] is the one rule of who may
//! do what in a room; [`moderate`] carries out a moderation action (store the standing, then
//! record the action as an entry of the room's sequence); [`privacy`] makes a room private or
//! public; [`groups`] makes group
//! conversations (private rooms of 2 to `--max-conversation-members` people). The HTTP routes
//! are `http/rooms.rs`; the flags `config/rooms.rs`.

pub mod access;
pub mod groups;
pub mod moderate;
pub mod privacy;

use crate::hub::Hub;

/// Whether `user` may read `room`, on every kind of room: a pair's conversation (`dm-…`: its two
/// members), a group conversation or a private room (its members), a public room (anyone not
/// banned); server admins read every room but pairs' conversations. `Err` is the refusal to
/// show (`forbidden`, the same whether or not the room exists). For other areas that serve a
/// room's content, such as files (`GET /api/files/{id}`).
pub async fn may_read(
    hub: &Hub,
    user: &str,
    room: &str,
) -> Result<(), banter_protocol::ValidationError> {
    let room = hub.check_room(room)?;
    if banter_protocol::is_conversation(room) {
        hub.member(room, user).await?;
        return Ok(());
    }
    hub.allow(room, user, access::Act::Read).await?;
    Ok(())
}
