//! Keeps a room's hot window in the entries' current state as they are published (v1.2): a
//! change folds into its target's copy in the window, a reply into its thread root's, and a
//! deletion erases the target and what its earlier edits and reactions held there, with the same
//! functions the stores use in their append ([`crate::store::entry`]). The entries changed are
//! encoded again, once each, under the room's lock: only on changes and replies, never for a
//! plain message. So a replay served from the window is what the store would serve.

use std::sync::Arc;

use banter_protocol::{ChangeKind, ChatMessage};

use super::budget::Budget;
use super::room::RoomState;
use crate::store::Stored;
use crate::store::entry::{self, Entry};

/// Applies the just published `stored` to the window's entries it changes.
pub fn window(st: &mut RoomState, stored: &Stored, budget: &Budget) {
    match &stored.entry {
        Entry::Message(m) => {
            if let Some(root) = m.reply_to {
                refold(st, root, m.seq, budget, |t| entry::fold_reply(t, m));
            }
        }
        Entry::Change(c) => {
            refold(st, c.target, c.seq, budget, |t| entry::fold(t, c));
            if c.kind == ChangeKind::Delete {
                erase_edits(st, c.target, budget);
            }
        }
    }
}

/// The window index of `seq`, when the window holds it.
fn index(st: &RoomState, seq: u64) -> Option<usize> {
    let i = seq.checked_sub(st.window_start())? as usize;
    (i < st.window.len()).then_some(i)
}

/// Folds entry `by` into the window's message `seq`, unless its state already includes `by`
/// (it was read from the store after `by`).
fn refold(
    st: &mut RoomState,
    seq: u64,
    by: u64,
    budget: &Budget,
    f: impl FnOnce(&mut ChatMessage),
) {
    let Some(i) = index(st, seq) else { return };
    let Entry::Message(m) = &st.window[i].entry else {
        return;
    };
    if st.window[i].as_of >= by {
        return;
    }
    let mut m = m.clone();
    f(&mut m);
    put(st, i, Stored::read_at(Entry::Message(m), by), budget);
}

fn erase_edits(st: &mut RoomState, target: u64, budget: &Budget) {
    let Some(from) = index(st, target) else {
        // Older than the window: so are its edits' targets, but not its edits; scan all.
        return erase_from(st, 0, target, budget);
    };
    erase_from(st, from, target, budget);
}

fn erase_from(st: &mut RoomState, from: usize, target: u64, budget: &Budget) {
    for i in from..st.window.len() {
        let Entry::Change(c) = &st.window[i].entry else {
            continue;
        };
        let mut c = c.clone();
        if entry::erase(&mut c, target) {
            put(st, i, Stored::new(c), budget);
        }
    }
}

fn put(st: &mut RoomState, i: usize, new: Arc<Stored>, budget: &Budget) {
    let (add, sub) = (new.weight(), st.window[i].weight());
    st.window[i] = new;
    st.window_bytes = st.window_bytes + add - sub.min(st.window_bytes + add);
    budget.add(add);
    budget.sub(sub);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::room::{Room, WindowLimits};
    use crate::store::RoomMeta;
    use banter_protocol::Change;

    fn msg(seq: u64, reply_to: Option<u64>) -> ChatMessage {
        ChatMessage {
            room: "r".into(),
            seq,
            user: "ada".into(),
            text: format!("m{seq}"),
            ts: seq,
            reply_to,
            ..Default::default()
        }
    }

    fn root_of(st: &RoomState) -> ChatMessage {
        st.window[0].entry.message().cloned().expect("a message")
    }

    #[test]
    fn entries_fold_once_even_into_a_state_read_after_them() {
        let budget = Budget::new(1 << 20);
        let lim = WindowLimits {
            count: 100,
            budget: &budget,
        };
        let room = Room::new("r".into());
        let mut st = room.lock();
        let meta = RoomMeta {
            epoch: "e".into(),
            head: 0,
            oldest: 1,
        };
        st.finish_load(&meta, Default::default(), &lim);
        // The root as read from the store at head 3: it already counts reply 2 and edit 3.
        let mut root = msg(1, None);
        root.replies = Some(1);
        root.last_reply_ts = Some(2);
        root.text = "edited".into();
        st.publish(Stored::read_at(Entry::Message(root), 3), &lim);
        st.publish(Stored::new(msg(2, Some(1))), &lim);
        let edit = Change {
            room: "r".into(),
            seq: 3,
            target: 1,
            user: "ada".into(),
            ts: 3,
            kind: ChangeKind::Edit,
            text: Some("edited".into()),
            emoji: None,
        };
        st.publish(Stored::new(edit), &lim);
        assert_eq!(root_of(&st).replies, Some(1), "reply 2 was already counted");
        assert_eq!(root_of(&st).edited_ts, None, "edit 3 was already folded");
        st.publish(Stored::new(msg(4, Some(1))), &lim);
        assert_eq!(root_of(&st).replies, Some(2), "a newer reply counts");
        let delete = Change {
            seq: 5,
            kind: ChangeKind::Delete,
            text: None,
            ..match &st.window[2].entry {
                Entry::Change(c) => c.clone(),
                other => panic!("{other:?}"),
            }
        };
        st.publish(Stored::new(delete), &lim);
        let gone = root_of(&st);
        assert!(gone.deleted && gone.text.is_empty());
        let Entry::Change(erased) = &st.window[2].entry else {
            panic!("a change")
        };
        assert_eq!(erased.text, None, "the edit's text left the window");
        assert!(!st.window[2].frame.as_str().contains("edited"));
    }
}
