//! Keeps a room's hot window in the entries' current state as they are published (v1.2): a
//! change folds into its target's copy in the window, a reply into its thread root's, and a
//! deletion erases the target and the text of its earlier edits there, with the same
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
                refold(st, root, budget, |t| entry::fold_reply(t, m));
            }
        }
        Entry::Change(c) => {
            refold(st, c.target, budget, |t| entry::fold(t, c));
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

fn refold(st: &mut RoomState, seq: u64, budget: &Budget, f: impl FnOnce(&mut ChatMessage)) {
    let Some(i) = index(st, seq) else { return };
    let Entry::Message(m) = &st.window[i].entry else {
        return;
    };
    let mut m = m.clone();
    f(&mut m);
    put(st, i, Stored::new(m), budget);
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
