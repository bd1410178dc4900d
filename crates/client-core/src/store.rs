//! A room's messages, keyed and ordered by `seq`, bounded, with the highest `seq` ever held,
//! each in its folded state (v1.2: edits, deletions, reactions, reply counts; see
//! [`crate::fold`]).
//!
//! The web app keeps up to [`KEEP_PER_ROOM`] per room for its views (window, scrollback); a bot
//! keeps none (`with_cap(0)`): only the rules that decide what is new need the core.
//!
//! Each message is held with the `seq` its state is known to reflect (`as_of`): a message that
//! came live reflects only itself; one from a page or a replay (a snapshot of its current state)
//! reflects every entry up to that page's or replay's end, and maybe some after it (the server
//! reads a long replay a chunk at a time). A change or reply at or below `as_of` is already in
//! the state and is not folded again. Changes are idempotent, so one after `as_of` that the
//! snapshot already reflected does no harm; a reply is not (it would be counted twice), so on a
//! snapshot root a reply past `as_of` counts only when it is newer than the root's
//! `last_reply_ts` (the snapshot reflects a prefix of the room's sequence: once one reply is
//! newer, every later one is too). Two replies to one root in the same millisecond on either
//! side of a snapshot's end are the one case this cannot tell apart (one would not be counted).

use std::collections::BTreeMap;
use std::sync::Arc;

use banter_protocol::{Change, ChatMessage};

use crate::fold;

/// How many messages a room keeps in memory by default; older ones are dropped (the room's resume
/// point, kept by [`crate::Core`], stays).
pub const KEEP_PER_ROOM: usize = 10_000;

/// A room's messages, keyed and ordered by `seq`.
#[derive(Debug, Clone)]
pub struct MessageStore {
    messages: BTreeMap<u64, Slot>,
    high_seq: u64,
    cap: usize,
}

/// A message held, with the `seq` its state reflects.
#[derive(Debug, Clone)]
struct Slot {
    msg: Arc<ChatMessage>,
    as_of: u64,
    /// Its state came as a snapshot (page or replay) and no reply was counted on it since.
    snapshot: bool,
}

impl Default for MessageStore {
    fn default() -> Self {
        MessageStore::with_cap(KEEP_PER_ROOM)
    }
}

impl MessageStore {
    /// An empty store that keeps at most `cap` messages (0: none, only [`Self::high_seq`]).
    pub fn with_cap(cap: usize) -> Self {
        MessageStore {
            messages: BTreeMap::new(),
            high_seq: 0,
            cap,
        }
    }

    /// Stores `msg` unless its `seq` is already here (or older than everything kept after an
    /// eviction). Returns whether it was new.
    pub fn insert(&mut self, msg: ChatMessage) -> bool {
        self.insert_shared(Arc::new(msg))
    }

    /// [`Self::insert`] of a message already shared (as it came live: its state is its own).
    pub fn insert_shared(&mut self, msg: Arc<ChatMessage>) -> bool {
        let as_of = msg.seq;
        self.insert_slot(msg, as_of, false)
    }

    /// Stores `msg`, a snapshot of its current state (from a page or a replay) that reflects
    /// every entry of the room up to `as_of` at least, unless its `seq` is already here. Returns
    /// whether it was new.
    pub fn insert_as_of(&mut self, msg: Arc<ChatMessage>, as_of: u64) -> bool {
        self.insert_slot(msg, as_of, true)
    }

    /// Stores `msg` unless held; a new reply is counted on its thread's root when the root's
    /// state does not reflect it yet (see the module docs).
    fn insert_slot(&mut self, msg: Arc<ChatMessage>, as_of: u64, snapshot: bool) -> bool {
        let seq = msg.seq;
        if self.cap == 0 {
            let new = seq > self.high_seq;
            self.high_seq = self.high_seq.max(seq);
            return new;
        }
        if self.messages.contains_key(&seq) {
            return false;
        }
        if self.messages.len() >= self.cap
            && self
                .messages
                .first_key_value()
                .is_some_and(|(&low, _)| seq < low)
        {
            return false;
        }
        if let Some(root) = msg.reply_to.and_then(|r| self.messages.get_mut(&r))
            && root.as_of < seq
            && (!root.snapshot || msg.ts > root.msg.last_reply_ts.unwrap_or(0))
        {
            fold::count_reply(Arc::make_mut(&mut root.msg), &msg);
            root.snapshot = false;
        }
        let as_of = as_of.max(seq);
        let slot = Slot {
            msg,
            as_of,
            snapshot,
        };
        self.messages.insert(seq, slot);
        self.high_seq = self.high_seq.max(seq);
        while self.messages.len() > self.cap {
            self.messages.pop_first();
        }
        true
    }

    /// Folds change `c` into its target when it is held and its state does not reflect `c`
    /// yet. Returns the target as it is now (changed or not), `None` when not held. The caller
    /// makes sure each `seq` comes once ([`crate::Core::change`]).
    pub fn change(&mut self, c: &Change) -> Option<Arc<ChatMessage>> {
        let slot = self.messages.get_mut(&c.target)?;
        if slot.as_of < c.seq {
            fold::apply(Arc::make_mut(&mut slot.msg), c);
        }
        Some(slot.msg.clone())
    }

    /// The message `seq`, if held.
    pub fn get(&self, seq: u64) -> Option<&Arc<ChatMessage>> {
        self.messages.get(&seq).map(|s| &s.msg)
    }

    /// Every message held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ChatMessage>> {
        self.messages.values().map(|s| &s.msg)
    }

    /// The replies held of the thread rooted at `root`, in `seq` order.
    pub fn thread(&self, root: u64) -> impl Iterator<Item = &Arc<ChatMessage>> {
        let held = self.messages.range(root + 1..).map(|(_, s)| &s.msg);
        held.filter(move |m| m.reply_to == Some(root))
    }

    /// The highest `seq` ever held here (evicted or not).
    pub fn high_seq(&self) -> u64 {
        self.high_seq
    }

    /// How many messages are held.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message is held.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Whether the message with this `seq` is held.
    pub fn contains(&self, seq: u64) -> bool {
        self.messages.contains_key(&seq)
    }

    /// The newest `n` messages, oldest first (what the view renders).
    pub fn last(&self, n: usize) -> Vec<Arc<ChatMessage>> {
        let skip = self.messages.len().saturating_sub(n);
        self.messages
            .values()
            .skip(skip)
            .map(|s| s.msg.clone())
            .collect()
    }

    /// What the view shows, oldest first: the newest `newest` messages, or, when the reader
    /// holds a place (scrolled up, or asked for earlier messages), up to `held_max` messages from
    /// `first` on. Either way the DOM stays bounded.
    pub fn window(
        &self,
        first: Option<u64>,
        newest: usize,
        held_max: usize,
    ) -> Vec<Arc<ChatMessage>> {
        match first {
            Some(first) => self
                .messages
                .range(first..)
                .take(held_max)
                .map(|(_, s)| s.msg.clone())
                .collect(),
            None => self.last(newest),
        }
    }

    /// The messages held with `lo <= seq <= hi`, oldest first.
    pub fn between(&self, lo: u64, hi: u64) -> impl DoubleEndedIterator<Item = &Arc<ChatMessage>> {
        // An empty range when `lo > hi` (`BTreeMap::range` panics on a reversed one).
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (1, 0) };
        self.messages
            .range(lo..=hi.max(lo))
            .filter(move |(s, _)| **s <= hi)
            .map(|(_, s)| &s.msg)
    }

    /// The `seq` `n` messages before `seq` (or the oldest held): where "show earlier" starts.
    pub fn seq_before(&self, seq: u64, n: usize) -> Option<u64> {
        self.messages
            .range(..seq)
            .rev()
            .take(n)
            .last()
            .map(|(&s, _)| s)
            .or_else(|| self.messages.first_key_value().map(|(&s, _)| s))
    }

    /// How many held messages are older than `seq`: what "show earlier" can still add above a
    /// window starting at `seq` (newer messages never count).
    pub fn count_before(&self, seq: u64) -> usize {
        self.messages.range(..seq).count()
    }

    /// The oldest `seq` held.
    pub fn first_seq(&self) -> Option<u64> {
        self.messages.first_key_value().map(|(&s, _)| s)
    }

    /// Forgets everything, the highest `seq` included (the room's history is another life).
    pub fn reset(&mut self) {
        self.messages.clear();
        self.high_seq = 0;
    }
}
