//! A room's members as its moderation entries say (v1.2, "Private rooms and moderation"): each
//! `member`, `moderator`, `owner`, `remove`, `ban`, `unban`, `mute`, `unmute` and `private`
//! `change` entry folded in `seq` order ([`crate::Core::change`] takes each `seq` once), so every
//! client learns who was added, removed, muted or banned, in the order the server recorded it.
//! What a client saw before it began following the room comes from `GET .../members`
//! ([`Membership::reset`]); entries after that are folded on top.

use banter_protocol::http::MemberList;
use banter_protocol::{Change, ChangeKind, RoomRole};

/// See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Only members may join the room.
    pub private: bool,
    /// Members with a role, in the order first added.
    pub roles: Vec<(String, RoomRole)>,
    /// Who may read but not post.
    pub muted: Vec<String>,
    /// Who is kept out.
    pub banned: Vec<String>,
}

fn drop_name(list: &mut Vec<String>, name: &str) {
    list.retain(|n| n != name);
}

fn add_name(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

impl Membership {
    /// Starts again from a members list (`GET /api/rooms/{room}/members`).
    pub fn reset(&mut self, list: &MemberList) {
        self.private = list.private;
        self.roles = list
            .members
            .iter()
            .map(|m| (m.user.clone(), m.role))
            .collect();
        self.muted = list
            .members
            .iter()
            .filter(|m| m.muted)
            .map(|m| m.user.clone())
            .collect();
        self.banned = list.banned.clone();
    }

    /// Folds moderation entry `c`; returns whether it was one (idempotent).
    pub fn fold(&mut self, c: &Change) -> bool {
        if !c.kind.is_moderation() {
            return false;
        }
        let who = c.text.as_deref().unwrap_or_default();
        if let Some(role) = c.kind.role() {
            match self.roles.iter_mut().find(|(n, _)| n == who) {
                Some((_, r)) => *r = role,
                None => self.roles.push((who.to_owned(), role)),
            }
            drop_name(&mut self.banned, who);
            return true;
        }
        match c.kind {
            ChangeKind::Remove => self.roles.retain(|(n, _)| n != who),
            ChangeKind::Ban => {
                self.roles.retain(|(n, _)| n != who);
                drop_name(&mut self.muted, who);
                add_name(&mut self.banned, who);
            }
            ChangeKind::Unban => drop_name(&mut self.banned, who),
            ChangeKind::Mute => add_name(&mut self.muted, who),
            ChangeKind::Unmute => drop_name(&mut self.muted, who),
            ChangeKind::Private => self.private = true,
            ChangeKind::Public => self.private = false,
            _ => {}
        }
        true
    }

    /// `user`'s role, when they have one.
    pub fn role(&self, user: &str) -> Option<RoomRole> {
        self.roles.iter().find(|(n, _)| n == user).map(|(_, r)| *r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, kind: ChangeKind, who: &str) -> Change {
        Change {
            room: "ops".into(),
            seq,
            target: 0,
            user: "ada".into(),
            ts: seq,
            kind,
            text: Some(who.into()),
            emoji: None,
        }
    }

    #[test]
    fn moderation_entries_fold_in_order() {
        let mut m = Membership::default();
        assert!(m.fold(&entry(1, ChangeKind::Private, "")));
        m.fold(&entry(2, ChangeKind::Owner, "ada"));
        m.fold(&entry(3, ChangeKind::Member, "bob"));
        m.fold(&entry(4, ChangeKind::Mute, "bob"));
        assert!(m.private);
        assert_eq!(m.role("bob"), Some(RoomRole::Member));
        assert_eq!(m.muted, ["bob"]);
        assert!(m.fold(&entry(5, ChangeKind::Public, "")));
        assert!(!m.private, "made public again");
        m.fold(&entry(5, ChangeKind::Ban, "bob"));
        assert_eq!(m.role("bob"), None);
        assert!(m.muted.is_empty());
        assert_eq!(m.banned, ["bob"]);
        m.fold(&entry(6, ChangeKind::Unban, "bob"));
        m.fold(&entry(7, ChangeKind::Moderator, "cy"));
        assert!(m.banned.is_empty());
        assert_eq!(m.role("cy"), Some(RoomRole::Moderator));
        let mut edit = entry(8, ChangeKind::Edit, "x");
        edit.target = 3;
        assert!(!m.fold(&edit), "a message's change is not moderation");
    }
}
