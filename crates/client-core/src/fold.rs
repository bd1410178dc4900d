//! The fold (v1.2, "Message lifecycle"): how a message's current state follows from the entries
//! of its room's sequence, the same rules the server applies when it stores a change.
//!
//! - `edit` sets the text and `edited_ts` (the message keeps its `id`, `seq`, `user` and `ts`);
//! - `delete` makes a tombstone: text, reactions and files erased, `deleted: true`; a tombstone
//!   takes no further change;
//! - `react` / `unreact` add or take back one user's emoji: giving it twice, or taking back one
//!   not given, changes nothing; emojis stay in the order first given, users in the order they
//!   reacted, and an emoji nobody gives any more goes away;
//! - a reply (`reply_to` names its thread's root) counts on the root: `replies` and the
//!   `last_reply_ts`; deleting a reply does not uncount it (the tombstone stays in the thread).
//!
//! [`apply`] is idempotent (applying a change again changes nothing), so a message already in a
//! later state that takes the change entries after an older point still ends where the server
//! is. Exactly-once per `seq` is the caller's ([`crate::SeqSet`], kept per room by
//! [`crate::Core`]); [`crate::MessageStore`] holds each message with the `seq` its state is
//! known to reflect, so a page or replay in current state is not folded twice.

use banter_protocol::{Change, ChangeKind, ChatMessage, Reaction};

/// Folds change `c` into its target `m`; returns whether `m` changed. Idempotent.
pub fn apply(m: &mut ChatMessage, c: &Change) -> bool {
    if m.deleted || c.target != m.seq {
        return false;
    }
    match c.kind {
        ChangeKind::Edit => edit(m, c),
        ChangeKind::Delete => {
            m.deleted = true;
            m.text = String::new();
            m.reactions = Vec::new();
            m.files = Vec::new();
            true
        }
        // A reaction entry of a message deleted since has lost its emoji: nothing to fold.
        ChangeKind::React => c.emoji.as_ref().is_some_and(|e| react(m, e, &c.user)),
        ChangeKind::Unreact => c.emoji.as_ref().is_some_and(|e| unreact(m, e, &c.user)),
        // Moderation entries change the room's members, not a message (see `members.rs`).
        _ => false,
    }
}

fn edit(m: &mut ChatMessage, c: &Change) -> bool {
    let changed = c.text.as_ref().is_some_and(|t| *t != m.text) || m.edited_ts != Some(c.ts);
    if let Some(text) = &c.text {
        m.text.clone_from(text);
    }
    m.edited_ts = Some(c.ts);
    changed
}

fn react(m: &mut ChatMessage, emoji: &str, user: &str) -> bool {
    match m.reactions.iter_mut().find(|r| r.emoji == emoji) {
        Some(r) if r.users.iter().any(|u| u == user) => false,
        Some(r) => {
            r.users.push(user.to_owned());
            true
        }
        None => {
            m.reactions.push(Reaction {
                emoji: emoji.to_owned(),
                users: vec![user.to_owned()],
            });
            true
        }
    }
}

fn unreact(m: &mut ChatMessage, emoji: &str, user: &str) -> bool {
    let Some(at) = m.reactions.iter().position(|r| r.emoji == emoji) else {
        return false;
    };
    let users = &mut m.reactions[at].users;
    let before = users.len();
    users.retain(|u| u != user);
    let changed = users.len() != before;
    if users.is_empty() {
        m.reactions.remove(at);
    }
    changed
}

/// Counts reply `reply` on its thread's root `root`. Not idempotent: call it once per reply
/// (the store does, for a reply newer than the state the root is known to reflect).
pub fn count_reply(root: &mut ChatMessage, reply: &ChatMessage) {
    root.replies = Some(root.replies.unwrap_or(0) + 1);
    root.last_reply_ts = Some(root.last_reply_ts.unwrap_or(0).max(reply.ts));
}

/// How many reactions (user and emoji pairs) a message holds.
pub fn reaction_count(m: &ChatMessage) -> usize {
    m.reactions.iter().map(|r| r.users.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64, user: &str, text: &str) -> ChatMessage {
        ChatMessage {
            room: "r".into(),
            seq,
            id: format!("m{seq}"),
            user: user.into(),
            text: text.into(),
            ts: seq * 10,
            ..Default::default()
        }
    }

    fn change(seq: u64, target: u64, user: &str, kind: ChangeKind, arg: &str) -> Change {
        Change {
            room: "r".into(),
            seq,
            target,
            user: user.into(),
            ts: seq * 10,
            kind,
            text: (kind == ChangeKind::Edit).then(|| arg.to_owned()),
            emoji: matches!(kind, ChangeKind::React | ChangeKind::Unreact).then(|| arg.to_owned()),
        }
    }

    fn who(m: &ChatMessage) -> Vec<(String, Vec<String>)> {
        let r = m.reactions.iter();
        r.map(|r| (r.emoji.clone(), r.users.clone())).collect()
    }

    #[test]
    fn an_edit_keeps_identity_and_marks_the_time() {
        let mut m = msg(1, "ada", "helo");
        assert!(apply(
            &mut m,
            &change(2, 1, "ada", ChangeKind::Edit, "hello")
        ));
        assert_eq!((m.text.as_str(), m.edited_ts), ("hello", Some(20)));
        assert_eq!(
            (m.seq, m.ts, m.id.as_str(), m.user.as_str()),
            (1, 10, "m1", "ada")
        );
        assert!(!apply(
            &mut m,
            &change(2, 1, "ada", ChangeKind::Edit, "hello")
        ));
    }

    #[test]
    fn reactions_are_one_per_user_and_emoji_in_the_order_given() {
        let mut m = msg(1, "ada", "hi");
        assert!(apply(&mut m, &change(2, 1, "bob", ChangeKind::React, "👍")));
        assert!(apply(&mut m, &change(3, 1, "cy", ChangeKind::React, "🎉")));
        assert!(apply(&mut m, &change(4, 1, "ada", ChangeKind::React, "👍")));
        assert!(!apply(
            &mut m,
            &change(4, 1, "ada", ChangeKind::React, "👍")
        ));
        let want = vec![
            ("👍".into(), vec!["bob".into(), "ada".into()]),
            ("🎉".into(), vec!["cy".into()]),
        ];
        assert_eq!(who(&m), want);
        assert!(!apply(
            &mut m,
            &change(5, 1, "dan", ChangeKind::Unreact, "👍")
        ));
        assert!(apply(
            &mut m,
            &change(6, 1, "cy", ChangeKind::Unreact, "🎉")
        ));
        assert!(!apply(
            &mut m,
            &change(6, 1, "cy", ChangeKind::Unreact, "🎉")
        ));
        assert_eq!(who(&m), want[..1]);
    }

    #[test]
    fn a_deletion_erases_and_takes_nothing_after() {
        let mut m = msg(1, "ada", "secret");
        apply(&mut m, &change(2, 1, "bob", ChangeKind::React, "👍"));
        assert!(apply(&mut m, &change(3, 1, "ada", ChangeKind::Delete, "")));
        assert!(m.deleted && m.text.is_empty() && m.reactions.is_empty());
        for c in [
            change(4, 1, "ada", ChangeKind::Edit, "back"),
            change(5, 1, "bob", ChangeKind::React, "👍"),
            change(3, 1, "ada", ChangeKind::Delete, ""),
        ] {
            assert!(!apply(&mut m, &c));
        }
        assert!(m.text.is_empty() && m.reactions.is_empty());
        let mut erased = change(2, 1, "bob", ChangeKind::React, "👍");
        erased.emoji = None;
        let mut live = msg(1, "ada", "hi");
        assert!(
            !apply(&mut live, &erased),
            "an erased reaction folds to nothing"
        );
        assert!(live.reactions.is_empty());
    }

    #[test]
    fn a_later_state_taking_the_entries_after_an_older_point_ends_where_the_server_is() {
        let entries = [
            change(2, 1, "bob", ChangeKind::React, "👍"),
            change(3, 1, "ada", ChangeKind::Edit, "v1"),
            change(4, 1, "bob", ChangeKind::Unreact, "👍"),
            change(5, 1, "cy", ChangeKind::React, "👍"),
            change(6, 1, "bob", ChangeKind::React, "👍"),
            change(7, 1, "ada", ChangeKind::Edit, "v2"),
        ];
        let mut server = msg(1, "ada", "v0");
        entries.iter().for_each(|c| _ = apply(&mut server, c));
        for from in 0..entries.len() {
            // What a page said after entry `from`, then every entry after an older point again.
            let mut client = msg(1, "ada", "v0");
            entries[..from]
                .iter()
                .for_each(|c| _ = apply(&mut client, c));
            let mut later = server.clone();
            for c in &entries[from.saturating_sub(2)..] {
                apply(&mut client, c);
                apply(&mut later, c);
            }
            assert_eq!(client, server, "from {from}");
            assert_eq!(later, server, "a current state takes its own entries again");
        }
    }

    #[test]
    fn a_change_for_another_message_changes_nothing() {
        let mut m = msg(1, "ada", "hi");
        assert!(!apply(&mut m, &change(3, 2, "ada", ChangeKind::Delete, "")));
        assert!(!m.deleted);
    }

    #[test]
    fn replies_count_on_the_root() {
        let mut root = msg(1, "ada", "q?");
        let mut r = msg(5, "bob", "a");
        r.reply_to = Some(1);
        count_reply(&mut root, &r);
        count_reply(&mut root, &msg(3, "cy", "b"));
        assert_eq!((root.replies, root.last_reply_ts), (Some(2), Some(50)));
    }
}
