//! Making a room private or public (v1.2, `PATCH /api/rooms/{room}`, owners and server admins;
//! a group conversation stays private). Going private, everyone present in the room at that
//! moment, here or on another node (the bus's record of presence), who has no role becomes a
//! `member` first, each with their own entry, so nobody who is reading is put out. Then the
//! flag is stored and the `private` or `public` entry appended.
//!
//! The flag and the entries must agree, or the loaded copies (folded from the entries) and the
//! store (listings, search, later loads) would say different things. So: a flag whose entry
//! surely was not stored is put back; a room whose stored flag already says so is switched
//! again when a loaded copy here disagrees (an earlier entry lost); and after the entry, the
//! flag is read again: if another switch went the other way meanwhile, an entry saying what
//! the store holds is appended, so the last entry always matches the store.

use banter_protocol::{ChangeKind, ErrorCode, ValidationError};

use super::access;
use super::moderate::{change_standing, failed, invalid, moderated, try_record};
use crate::hub::Hub;
use crate::store::Standing;

fn kind_of(private: bool) -> ChangeKind {
    if private {
        ChangeKind::Private
    } else {
        ChangeKind::Public
    }
}

/// `actor` makes `room` private or public: `Ok(seq)` of the entry recorded, `Ok(0)` when it
/// already was (see the module docs).
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
    let kind = kind_of(private);
    let store = hub.store();
    let fresh = store.access(room).await.map_err(|e| failed(&e))?;
    let admin = hub.is_admin(actor);
    access::may_moderate(&fresh, actor, admin, kind, Standing::default())?;
    let loaded_agrees = hub.access_now(room).is_none_or(|a| a.private == private);
    if fresh.private == private && fresh.created && loaded_agrees {
        return Ok(0);
    }
    if private {
        keep_who_is_present(hub, room, actor, &fresh).await?;
    }
    store
        .set_private(room, private)
        .await
        .map_err(|e| failed(&e))?;
    let seq = match try_record(hub, room, actor, kind, "").await {
        Ok(seq) => seq,
        Err(n) => {
            if n.surely
                && let Err(back) = store.set_private(room, fresh.private).await
            {
                tracing::warn!(room, error = %back, "privacy: a flag without its entry");
            }
            return Err(n.error);
        }
    };
    let now = store.access(room).await.map_err(|e| failed(&e))?;
    if now.private != private {
        // Another switch went the other way between our flag and our entry.
        let (kind, room) = (kind_of(now.private), room.to_owned());
        try_record(hub, &room, actor, kind, "")
            .await
            .map_err(|n| n.error)?;
    }
    Ok(seq)
}

/// Makes everyone present in `room` (here or elsewhere) without a role, and not banned, a
/// member, each with their entry.
async fn keep_who_is_present(
    hub: &Hub,
    room: &str,
    actor: &str,
    fresh: &crate::store::RoomAccess,
) -> Result<(), ValidationError> {
    let mut present = hub.present(room);
    let elsewhere = hub.store().present_elsewhere(room).await;
    present.extend(elsewhere.map_err(|e| failed(&e))?);
    present.sort();
    present.dedup();
    for user in present {
        let now = access::standing(fresh, &user);
        if now.role.is_none() && !now.banned {
            let next = access::after(ChangeKind::Member, now);
            change_standing(hub, room, (actor, ChangeKind::Member, &user), now, next).await?;
        }
    }
    Ok(())
}
