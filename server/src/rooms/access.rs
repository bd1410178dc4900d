//! The one rule of who may do what in a room (v1.2, private rooms and moderation), over a
//! room's stored [`RoomAccess`] and whether the user is a server admin. Every path asks it:
//! WebSocket `join` (under the room's lock, `hub::join`), sends and changes (`Hub::post`,
//! `Hub::change`), HTTP pages and threads, listings, search (which gets the rooms a user may not
//! read from [`crate::store::RoomMembers::hidden_from`], computed by the same rule, and filters
//! inside its SQL), files ([`may_read`]), and moderation (`rooms::moderate`).
//!
//! - Read (join, resume, page, thread, search, list): a server admin always; else not banned,
//!   and in a private room only with a role (member, moderator, owner).
//! - Post (send, reply, edit, react): read, and not muted (admins always).
//! - Moderate (add or remove members, mute, ban, delete others' messages): owners, moderators
//!   and admins; a moderator acts only on plain members and users without a role, and gives
//!   only the member role. Changing roles above member, or acting on a moderator or an owner:
//!   owners and admins.
//!
//! A moderation entry folds into a loaded room's access ([`fold`]) as it is published, in
//! `seq` order on every node, so the rooms' copies follow the store.

use banter_protocol::{Change, ChangeKind, ErrorCode, RoomRole, ValidationError};

use crate::store::{RoomAccess, Standing};

/// What a user wants to do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Read,
    Post,
    Moderate,
}

/// The refusal for someone who may not read a room: the same whether or not it exists.
pub fn forbidden() -> ValidationError {
    ValidationError {
        code: ErrorCode::Forbidden,
        message: "this room is private, or you were removed from it".into(),
    }
}

fn muted() -> ValidationError {
    ValidationError {
        code: ErrorCode::Forbidden,
        message: "you are muted in this room: you may read but not post".into(),
    }
}

fn not_moderator() -> ValidationError {
    ValidationError {
        code: ErrorCode::Forbidden,
        message: "only the room's owners and moderators (and server admins) may do this".into(),
    }
}

/// `user`'s standing in the room.
pub fn standing(a: &RoomAccess, user: &str) -> Standing {
    a.users.get(user).copied().unwrap_or_default()
}

/// Whether `user` (an admin or not) may `act` in the room: the rule (see the module docs).
pub fn check(a: &RoomAccess, user: &str, admin: bool, act: Act) -> Result<(), ValidationError> {
    if admin {
        return Ok(());
    }
    let s = standing(a, user);
    if s.banned || (a.private && s.role.is_none()) {
        return Err(forbidden());
    }
    match act {
        Act::Read => Ok(()),
        Act::Post if s.muted => Err(muted()),
        Act::Post => Ok(()),
        Act::Moderate if s.role >= Some(RoomRole::Moderator) => Ok(()),
        Act::Moderate => Err(not_moderator()),
    }
}

/// Whether `user` may read the room (for callers that only need yes or no, e.g. file
/// downloads of the room's files).
pub fn may_read(a: &RoomAccess, user: &str, admin: bool) -> bool {
    check(a, user, admin, Act::Read).is_ok()
}

/// Whether `actor` may do `kind` (a moderation entry) to `subject`, whose standing is `now`.
pub fn may_moderate(
    a: &RoomAccess,
    actor: &str,
    admin: bool,
    kind: ChangeKind,
    now: Standing,
) -> Result<(), ValidationError> {
    check(a, actor, admin, Act::Moderate)?;
    let actor_role = if admin {
        Some(RoomRole::Owner)
    } else {
        standing(a, actor).role
    };
    if actor_role == Some(RoomRole::Owner) {
        return Ok(());
    }
    // A moderator: only on plain members and users without a role, giving at most `member`.
    let above = now.role >= Some(RoomRole::Moderator) || kind.role() > Some(RoomRole::Member);
    if above || matches!(kind, ChangeKind::Private | ChangeKind::Public) {
        return Err(ValidationError {
            code: ErrorCode::Forbidden,
            message: "only the room's owners (and server admins) may change roles or act on \
                      moderators and owners"
                .into(),
        });
    }
    Ok(())
}

/// The standing a moderation entry of `kind` leaves its subject with, from `now`.
pub fn after(kind: ChangeKind, now: Standing) -> Standing {
    let mut s = now;
    match kind {
        ChangeKind::Remove => s.role = None,
        ChangeKind::Ban => {
            s.role = None;
            s.muted = false;
            s.banned = true;
        }
        ChangeKind::Unban => s.banned = false,
        ChangeKind::Mute => s.muted = true,
        ChangeKind::Unmute => s.muted = false,
        k => {
            if let Some(role) = k.role() {
                s.role = Some(role);
                s.banned = false;
            }
        }
    }
    s
}

/// Folds moderation entry `c` into a room's access (idempotent). Returns whether it was one.
pub fn fold(a: &mut RoomAccess, c: &Change) -> bool {
    if !c.kind.is_moderation() {
        return false;
    }
    if matches!(c.kind, ChangeKind::Private | ChangeKind::Public) {
        a.private = c.kind == ChangeKind::Private;
        a.created = true;
        return true;
    }
    let who = c.text.clone().unwrap_or_default();
    let s = after(c.kind, standing(a, &who));
    if s.is_none() {
        a.users.remove(&who);
    } else {
        a.users.insert(who, s);
    }
    true
}

/// Whether a connection of `user` must leave the room after entry `c` (it was removed or
/// banned, or the room became private and they have no role in it).
pub fn evicts(a: &RoomAccess, c: &Change, user: &str) -> bool {
    match c.kind {
        ChangeKind::Remove | ChangeKind::Ban => c.text.as_deref() == Some(user),
        ChangeKind::Private => standing(a, user).role.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(private: bool, users: &[(&str, Standing)]) -> RoomAccess {
        RoomAccess {
            private,
            created: true,
            users: users.iter().map(|(u, s)| ((*u).to_owned(), *s)).collect(),
        }
    }

    fn role(r: RoomRole) -> Standing {
        Standing {
            role: Some(r),
            ..Standing::default()
        }
    }

    #[test]
    fn private_rooms_admit_members_and_admins_only() {
        let a = room(
            true,
            &[
                ("ada", role(RoomRole::Owner)),
                ("bob", role(RoomRole::Member)),
            ],
        );
        assert!(may_read(&a, "ada", false));
        assert!(may_read(&a, "bob", false));
        assert!(!may_read(&a, "eve", false));
        assert!(may_read(&a, "eve", true), "an admin reads every room");
        assert!(check(&a, "bob", false, Act::Moderate).is_err());
        assert!(check(&a, "ada", false, Act::Moderate).is_ok());
    }

    #[test]
    fn bans_and_mutes_hold_in_public_rooms() {
        let banned = Standing {
            banned: true,
            ..Standing::default()
        };
        let muted = Standing {
            muted: true,
            ..Standing::default()
        };
        let a = room(false, &[("eve", banned), ("bob", muted)]);
        assert!(may_read(&a, "anyone", false));
        assert!(!may_read(&a, "eve", false));
        assert!(check(&a, "bob", false, Act::Read).is_ok());
        assert_eq!(
            check(&a, "bob", false, Act::Post).unwrap_err().code,
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn moderators_act_on_members_only() {
        let a = room(
            true,
            &[
                ("ada", role(RoomRole::Owner)),
                ("mo", role(RoomRole::Moderator)),
                ("bob", role(RoomRole::Member)),
            ],
        );
        let bob = standing(&a, "bob");
        assert!(may_moderate(&a, "mo", false, ChangeKind::Ban, bob).is_ok());
        assert!(may_moderate(&a, "mo", false, ChangeKind::Member, Standing::default()).is_ok());
        assert!(may_moderate(&a, "mo", false, ChangeKind::Moderator, bob).is_err());
        assert!(may_moderate(&a, "mo", false, ChangeKind::Ban, standing(&a, "ada")).is_err());
        assert!(may_moderate(&a, "ada", false, ChangeKind::Ban, standing(&a, "mo")).is_ok());
        assert!(may_moderate(&a, "bob", false, ChangeKind::Mute, Standing::default()).is_err());
    }

    #[test]
    fn entries_fold_into_the_access() {
        let mut a = RoomAccess::default();
        let c = |kind, who: &str| Change {
            room: "ops".into(),
            seq: 1,
            target: 0,
            user: "ada".into(),
            ts: 0,
            kind,
            text: Some(who.into()),
            emoji: None,
        };
        fold(&mut a, &c(ChangeKind::Private, ""));
        fold(&mut a, &c(ChangeKind::Owner, "ada"));
        fold(&mut a, &c(ChangeKind::Member, "bob"));
        assert!(a.private && may_read(&a, "bob", false));
        assert!(evicts(&a, &c(ChangeKind::Ban, "bob"), "bob"));
        fold(&mut a, &c(ChangeKind::Ban, "bob"));
        assert!(!may_read(&a, "bob", false));
        fold(&mut a, &c(ChangeKind::Unban, "bob"));
        assert!(
            !may_read(&a, "bob", false),
            "unbanned is not a member again"
        );
        assert!(!a.users.contains_key("bob"));
    }
}
