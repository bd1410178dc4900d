//! Carrying out moderation (v1.2): creating a room (its creator its owner), adding and removing
//! members, changing roles, muting and banning, and making group conversations (a room's
//! privacy: `privacy.rs`); whoever is given a place in a private room is told at once
//! (`added`). Each action is
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

pub(super) fn invalid(code: ErrorCode, message: impl Into<String>) -> ValidationError {
    ValidationError {
        code,
        message: message.into(),
    }
}

pub(super) fn failed(e: &StoreError) -> ValidationError {
    refusal(e)
}

/// Why a moderation entry was not appended, and whether it surely was not stored (refused
/// before the store wrote anything) or may have been (a store failure: Redis may have run the
/// script and lost its reply).
pub(super) struct NotAppended {
    pub error: ValidationError,
    pub surely: bool,
}

/// Appends moderation entry `kind` and waits for it: its `seq`.
pub(super) async fn try_record(
    hub: &Hub,
    room: &str,
    actor: &str,
    kind: ChangeKind,
    subject: &str,
) -> Result<u64, NotAppended> {
    let (tx, rx) = oneshot::channel();
    hub.moderation_entry(room, actor, kind, subject, move |r| {
        let _ = tx.send(r);
    })
    .map_err(|error| NotAppended {
        error,
        surely: true,
    })?;
    match rx.await {
        Ok(Ok(appended)) => Ok(appended.ack_seq()),
        Ok(Err(e)) => Err(NotAppended {
            surely: !matches!(e, StoreError::Failed(_)),
            error: failed(&e),
        }),
        Err(_) => Err(NotAppended {
            error: failed(&StoreError::failed("the store went away")),
            surely: false,
        }),
    }
}

/// [`try_record`], its error alone.
async fn record(
    hub: &Hub,
    room: &str,
    actor: &str,
    kind: ChangeKind,
    subject: &str,
) -> Result<u64, ValidationError> {
    try_record(hub, room, actor, kind, subject)
        .await
        .map_err(|n| n.error)
}

/// Stores `user`'s standing `next` (it was `now`), then appends entry `kind` by `actor`: its
/// `seq`. When the entry surely was not stored, the standing is put back, so no change holds
/// without its entry; when it may have been (a lost reply), the standing stays with it.
pub(super) async fn change_standing(
    hub: &Hub,
    room: &str,
    (actor, kind, user): (&str, ChangeKind, &str),
    now: Standing,
    next: Standing,
) -> Result<u64, ValidationError> {
    let store = hub.store();
    store
        .set_standing(room, user, next)
        .await
        .map_err(|e| failed(&e))?;
    match try_record(hub, room, actor, kind, user).await {
        Ok(seq) => Ok(seq),
        Err(n) => {
            if !n.surely {
                tracing::warn!(
                    room,
                    user,
                    "moderation: the entry may be stored; the standing stays"
                );
            } else if let Err(back) = store.set_standing(room, user, now).await {
                tracing::warn!(room, user, error = %back, "moderation: a standing without its entry");
            }
            Err(n.error)
        }
    }
}

/// A room that moderation may act on: a room's name (not a pair's conversation).
pub(super) fn moderated<'a>(hub: &Hub, room: &'a str) -> Result<&'a str, ValidationError> {
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
    let seq = change_standing(hub, room, (actor, kind, subject), now, next).await?;
    if fresh.private && now.role.is_none() && next.role.is_some() {
        hub.tell_added(subject, room, actor);
    }
    Ok(seq)
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
