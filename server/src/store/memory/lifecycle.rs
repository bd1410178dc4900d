//! The memory store's v1.2 step: a reply or a change checked and folded into the room's ring
//! under the room's lock, in the same critical section that gives it its `seq` (see
//! [`crate::store::entry`]). A target no longer in the ring is `not_found`: this store keeps
//! only its window.
//!
//! Deletion erases: the target's entry in the ring, its copy in the dedupe table and its earlier
//! edit and reaction entries are replaced by versions without the text and emoji; the old ones are
//! dropped with their last reference.

use std::sync::Arc;

use banter_protocol::{ChangeKind, ChatMessage};

use super::MemRoom;
use crate::store::entry::{self, Entry, Refusal};
use crate::store::{NewMessage, Stored};

/// What an append became.
pub enum Prepared {
    /// Store this entry; the ring's other entries changed by this many bytes (added, removed).
    Entry(Arc<Stored>, usize, usize),
    /// A change that changes nothing: the target as it is.
    Noop(Arc<Stored>),
}

/// Sequences `msg` as `r.head + 1` (not yet pushed), applying it to the entries it changes.
pub fn prepare(r: &mut MemRoom, msg: &NewMessage) -> Result<Prepared, Refusal> {
    let seq = r.head + 1;
    let Some(change) = &msg.change else {
        let mut m = msg.sequenced(seq);
        let Some(parent) = msg.reply_to else {
            return Ok(Prepared::Entry(Stored::new(m), 0, 0));
        };
        let (at, parent) = find(r, parent)?;
        let root = entry::thread_root(&parent);
        m.reply_to = Some(root);
        let (added, removed) = if root == parent.seq {
            let mut folded = parent;
            entry::fold_reply(&mut folded, &m);
            replace(r, at, folded)
        } else {
            // The root may have left the ring: the reply still joins its thread.
            match find(r, root) {
                Ok((at, mut folded)) => {
                    entry::fold_reply(&mut folded, &m);
                    replace(r, at, folded)
                }
                Err(_) => (0, 0),
            }
        };
        return Ok(Prepared::Entry(Stored::new(m), added, removed));
    };
    if change.kind.is_moderation() {
        // A moderation entry changes no message: it only takes its `seq` (see `crate::rooms`).
        let c = msg
            .change_entry(seq, crate::store::now_ms())
            .ok_or(Refusal::NotFound)?;
        return Ok(Prepared::Entry(Stored::new(c), 0, 0));
    }
    let (at, target) = find(r, change.target)?;
    let edits = r
        .ring
        .iter()
        .filter(|s| {
            matches!(&s.entry, Entry::Change(c) if c.target == change.target && c.kind == ChangeKind::Edit)
        })
        .count() as u32;
    if !entry::check(&target, edits, change, &msg.user)? {
        return Ok(Prepared::Noop(r.ring[at].clone()));
    }
    let c = msg
        .change_entry(seq, crate::store::now_ms())
        .ok_or(Refusal::NotFound)?;
    let mut folded = target;
    entry::fold(&mut folded, &c);
    let (mut added, mut removed) = replace(r, at, folded);
    if c.kind == ChangeKind::Delete {
        let (a, d) = erase_edits(r, c.target);
        added += a;
        removed += d;
    }
    Ok(Prepared::Entry(Stored::new(c), added, removed))
}

/// The message `seq` in the ring (a change's `seq` is not a message: not found).
fn find(r: &MemRoom, seq: u64) -> Result<(usize, ChatMessage), Refusal> {
    let first = r.ring.front().map_or(r.head + 1, |s| s.seq());
    let at = seq
        .checked_sub(first)
        .map(|i| i as usize)
        .filter(|i| *i < r.ring.len())
        .ok_or(Refusal::NotFound)?;
    match &r.ring[at].entry {
        Entry::Message(m) => Ok((at, m.clone())),
        Entry::Change(_) => Err(Refusal::NotFound),
    }
}

/// Puts the folded message at ring index `at` (and in the dedupe table when it is there).
fn replace(r: &mut MemRoom, at: usize, m: ChatMessage) -> (usize, usize) {
    let new = Stored::new(m);
    let old = std::mem::replace(&mut r.ring[at], new.clone());
    r.dedupe.replace(&old, &new);
    (new.weight(), old.weight())
}

/// Drops the text of the edit entries of `target` still in the ring.
fn erase_edits(r: &mut MemRoom, target: u64) -> (usize, usize) {
    let (mut added, mut removed) = (0, 0);
    for i in 0..r.ring.len() {
        let Entry::Change(c) = &r.ring[i].entry else {
            continue;
        };
        let mut c = c.clone();
        if entry::erase(&mut c, target) {
            let new = Stored::new(c);
            let old = std::mem::replace(&mut r.ring[i], new.clone());
            r.dedupe.replace(&old, &new);
            added += new.weight();
            removed += old.weight();
        }
    }
    (added, removed)
}
