//! Carrying out moderation (v1.2): creating a room (its creator its owner), adding and removing
//! members, changing roles, muting and banning, making a room private or public, and making
//! group conversations; whoever is given a place in a private room is told at once (`added`). Each action is
//! checked by the rule ([`super::access`]) against the room's access read from the store (never
//! a cached copy), its new standing is stored ([`crate::store::RoomMembers`]), and then the
//! action is appended as a moderation entry of the room's sequence: it takes the next `seq` in
//! the store's atomic append step like any change (SQLite writer transaction, memory store room
//! lock, Redis post script), is delivered in order as a `change` frame, replayed on resume, and
//! folded by every node's loaded copy of the room, which puts out the connections it removes.

use banter_protocol::http::{ConversationSummary, RoomSummary};
use banter_protocol::{ChangeKind, ErrorCode, RoomRole, ValidationError};
use tokio::sync::oneshot;

use super::access;
use crate::hub::{Hub, refusal};
use crate::store::{Range, Standing, StoreError};

fn invalid(code: ErrorCode, message: impl Into<String>) -> ValidationError {
    ValidationError {
        code,
        message: message.into(),
    }
}

fn failed(e: &StoreError) -> ValidationError {
    refusal(e)
}

/// Appends moderation entry `kind` and waits for it: its `seq`.
async fn record(
    hub: &Hub,
    room: &str,
    actor: &str,
    kind: ChangeKind,
    subject: &str,
) -> Result<u64, ValidationError> {
    let (tx, rx) = oneshot::channel();
    hub.moderation_entry(room, actor, kind, subject, move |r| {
        let _ = tx.send(r);
    })?;
    let appended = rx
        .await
        .map_err(|_| failed(&StoreError::failed("the store went away")))?
        .map_err(|e| failed(&e))?;
    Ok(appended.ack_seq())
}

/// A room that moderation may act on: a room's name (not a pair's conversation).
fn moderated<'a>(hub: &Hub, room: &'a str) -> Result<&'a str, ValidationError> {
    let room = hub.check_room(room)?;
    if banter_protocol::is_conversation(room) {
        return Err(invalid(
            ErrorCode::BadRequest,
            "a conversation of two has no members to change",
        ));
    }
    Ok(room)
}

/// `actor` does `kind` to `subject` in `room`: `Ok(seq)` of the entry recorded, `Ok(0)` when it
/// changes nothing (e.g. unmuting someone not muted).
pub async fn act(
    hub: &Hub,
    room: &str,
    actor: &str,
    kind: ChangeKind,
    subject: &str,
) -> Result<u64, ValidationError> {
    let room = moderated(hub, room)?;
    let actor = hub.limits().name(actor)?;
    let subject = hub.limits().name(subject)?;
    let store = hub.store();
    let fresh = store.access(room).await.map_err(|e| failed(&e))?;
    let now = access::standing(&fresh, subject);
    access::may_moderate(&fresh, actor, hub.is_admin(actor), kind, now)?;
    let next = access::after(kind, now);
    if next == now {
        return Ok(0);
    }
    store
        .set_standing(room, subject, next)
        .await
        .map_err(|e| failed(&e))?;
    let seq = match record(hub, room, actor, kind, subject).await {
        Ok(seq) => seq,
        Err(e) => {
            // No entry, no change: the standing goes back (best effort; a store that refuses
            // this too is down, and the refusal says so).
            if let Err(back) = store.set_standing(room, subject, now).await {
                tracing::warn!(room, subject, error = %back, "moderation: a standing without its entry");
            }
            return Err(e);
        }
    };
    if fresh.private && now.role.is_none() && next.role.is_some() {
        hub.tell_added(subject, room, actor);
    }
    Ok(seq)
}

/// `actor` (an owner or a server admin) makes `room` private or public: `Ok(seq)` of the entry
/// recorded, `Ok(0)` when it already was. Going private, everyone present in the room at that
/// moment (on any node) who has no role becomes a member first, each with their own entry, so
/// nobody reading it is put out; afterwards only members join. Group conversations stay
/// private.
pub async fn set_privacy(
    hub: &Hub,
    room: &str,
    actor: &str,
    private: bool,
) -> Result<u64, ValidationError> {
    let room = moderated(hub, room)?;
    if banter_protocol::is_group(room) {
        return Err(invalid(
            ErrorCode::BadRequest,
            "a group conversation is always private",
        ));
    }
    let actor = hub.limits().name(actor)?;
    let kind = if private {
        ChangeKind::Private
    } else {
        ChangeKind::Public
    };
    let store = hub.store();
    let fresh = store.access(room).await.map_err(|e| failed(&e))?;
    access::may_moderate(
        &fresh,
        actor,
        hub.is_admin(actor),
        kind,
        Standing::default(),
    )?;
    if fresh.private == private && fresh.created {
        return Ok(0);
    }
    if private {
        let mut present = hub.present(room);
        present.extend(
            store
                .present_elsewhere(room)
                .await
                .map_err(|e| failed(&e))?,
        );
        present.sort();
        present.dedup();
        for user in present {
            let now = access::standing(&fresh, &user);
            if now.role.is_none() && !now.banned {
                let member = access::after(ChangeKind::Member, now);
                store
                    .set_standing(room, &user, member)
                    .await
                    .map_err(|e| failed(&e))?;
                record(hub, room, actor, ChangeKind::Member, &user).await?;
            }
        }
    }
    store
        .set_private(room, private)
        .await
        .map_err(|e| failed(&e))?;
    record(hub, room, actor, kind, "").await
}

/// Creates `room` (public, or private) with `creator` its owner; refused when it exists (it
/// was created before, or holds messages).
pub async fn create(
    hub: &Hub,
    room: &str,
    private: bool,
    creator: &str,
) -> Result<RoomSummary, ValidationError> {
    if banter_protocol::is_group(room) {
        return Err(invalid(
            ErrorCode::InvalidRoom,
            "rooms named `grp-…` are group conversations: make one with POST /api/conversations",
        ));
    }
    let room = moderated(hub, room)?;
    let creator = hub.limits().name(creator)?;
    let store = hub.store();
    let exists = || {
        invalid(
            ErrorCode::InvalidRoom,
            format!("the room `{room}` already exists"),
        )
    };
    if store.room(room).await.map_err(|e| failed(&e))?.head > 0 {
        return Err(exists());
    }
    if !store
        .create_room(room, private)
        .await
        .map_err(|e| failed(&e))?
    {
        return Err(exists());
    }
    let owner = Standing {
        role: Some(RoomRole::Owner),
        ..Standing::default()
    };
    store
        .set_standing(room, creator, owner)
        .await
        .map_err(|e| failed(&e))?;
    if private {
        record(hub, room, creator, ChangeKind::Private, "").await?;
    }
    let head = record(hub, room, creator, ChangeKind::Owner, creator).await?;
    Ok(RoomSummary {
        room: room.to_owned(),
        head,
        users: 0,
        private,
    })
}

/// Makes (or finds) the group conversation of `me` and `asked`: `(summary, created)`.
pub async fn group(
    hub: &Hub,
    me: &str,
    asked: &[String],
) -> Result<(ConversationSummary, bool), ValidationError> {
    let max = hub.config().rooms.max_conversation_members as usize;
    let names = super::groups::members(hub.limits(), me, asked, max)?;
    let room = super::groups::id(&names);
    let store = hub.store();
    let created = store
        .create_room(&room, true)
        .await
        .map_err(|e| failed(&e))?;
    if created {
        let member = Standing {
            role: Some(RoomRole::Member),
            ..Standing::default()
        };
        for n in &names {
            store
                .set_standing(&room, n, member)
                .await
                .map_err(|e| failed(&e))?;
        }
        record(hub, &room, me, ChangeKind::Private, "").await?;
        for n in &names {
            record(hub, &room, me, ChangeKind::Member, n).await?;
        }
        for n in &names {
            hub.tell_added(n, &room, me);
        }
    } else {
        hub.allow(&room, me, access::Act::Read).await?;
    }
    Ok((summary(hub, &room).await?, created))
}

/// The listing entry of group conversation `room`: its members, head and latest entry's time.
pub async fn summary(hub: &Hub, room: &str) -> Result<ConversationSummary, ValidationError> {
    let store = hub.store();
    let a = store.access(room).await.map_err(|e| failed(&e))?;
    let head = store.room(room).await.map_err(|e| failed(&e))?.head;
    let (last, meta) = store
        .read(room, Range::Before(head + 1), 1)
        .await
        .map_err(|e| failed(&e))?;
    Ok(ConversationSummary {
        room: room.to_owned(),
        with: String::new(),
        head: meta.head,
        ts: last.first().map_or(0, |e| e.ts()),
        members: a
            .users
            .iter()
            .filter(|(_, s)| s.role.is_some())
            .map(|(u, _)| u.clone())
            .collect(),
    })
}
