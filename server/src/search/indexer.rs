//! The indexer: one thread that brings the index up to the store, room by room, off every
//! post's path.
//!
//! It waits for [`Dirty`] rooms, then reads each one's new entries from the store (the same
//! `History::read` that serves scrollback) after the last `seq` it indexed, and writes them in
//! transactions of `--search-batch` entries. At start, and whenever it is told to, it looks at
//! every room the store lists: so after a crash (or a removed index file) it catches up from the
//! messages themselves. A room whose epoch changed is forgotten and indexed again.
//!
//! Its input is the room's entries: a message is indexed ([`Entry::Message`]); an edit replaces
//! its target's text ([`Entry::Edit`]); a deletion removes its target from both indexes and the
//! table ([`Entry::Delete`], with FTS5 secure-delete). A message read back already deleted is
//! not indexed.

use std::sync::Arc;
use std::time::Duration;

use banter_protocol::{Change, ChangeKind, ChatMessage};
use rusqlite::Connection;

use super::dirty::Dirty;
use super::index;
use super::text::Doc;
use crate::store::{Entry as Stored, History, Range, StoreError};

/// How long a failed read (the store away) waits before the indexer tries the room again.
const RETRY: Duration = Duration::from_secs(1);
/// How long the indexer sleeps with nothing to do before looking again (a safety net only).
const IDLE: Duration = Duration::from_secs(60);

/// One entry of a room's history, as the index takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Message(Doc),
    /// Message `target` now reads `text`.
    Edit {
        target: u64,
        text: String,
    },
    /// Message `target` was deleted: no trace of it may stay.
    Delete {
        target: u64,
    },
}

/// Why a room could not be indexed now.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Index(#[from] rusqlite::Error),
}

/// See the module docs.
pub struct Indexer {
    conn: Connection,
    history: Arc<dyn History>,
    batch: usize,
}

impl Indexer {
    pub fn new(conn: Connection, history: Arc<dyn History>, batch: usize) -> Self {
        Indexer {
            conn,
            history,
            batch: batch.max(1),
        }
    }

    /// The thread's loop: every room at start, then the dirty ones, until stopped. The rooms of
    /// one pass share transactions of about `--search-batch` entries.
    pub fn run(mut self, dirty: Arc<Dirty>) {
        dirty.touch_all();
        let mut failing = false;
        while let Some(work) = dirty.take(if failing { RETRY } else { IDLE }) {
            let rooms: Vec<Arc<str>> = if work.all {
                match self.history.every_room() {
                    Ok(r) => r.into_iter().map(Arc::from).collect(),
                    Err(e) => {
                        failing = report(failing, &e.into());
                        dirty.touch_all();
                        continue;
                    }
                }
            } else {
                work.rooms.into_iter().collect()
            };
            failing = false;
            match self.pass(&rooms) {
                Ok(behind) => {
                    for (room, e) in behind {
                        failing = report(failing, &e);
                        dirty.touch(&room);
                    }
                }
                Err(e) => {
                    // The index itself failed: what this pass wrote is rolled back; again.
                    let _ = self.conn.execute_batch("ROLLBACK");
                    failing = report(failing, &e.into());
                    dirty.touch_all();
                }
            }
        }
    }

    /// Indexes every room now (`banter reindex`).
    pub fn all(&mut self) -> Result<usize, IndexError> {
        let rooms: Vec<Arc<str>> = self
            .history
            .every_room()?
            .into_iter()
            .map(Arc::from)
            .collect();
        if let Some((_, e)) = self.pass(&rooms)?.into_iter().next() {
            return Err(e);
        }
        Ok(rooms.len())
    }

    /// Brings `rooms` up to date; returns those the store could not read now.
    fn pass(&mut self, rooms: &[Arc<str>]) -> rusqlite::Result<Vec<(Arc<str>, IndexError)>> {
        let mut w = Writes::default();
        let mut behind = Vec::new();
        self.conn.execute_batch("BEGIN")?;
        for room in rooms {
            match self.catch_up(room, &mut w) {
                Ok(()) => {}
                Err(IndexError::Index(e)) => return Err(e),
                Err(e) => behind.push((room.clone(), e)),
            }
        }
        self.commit(&mut w, false)?;
        Ok(behind)
    }

    /// Commits what is written (and begins again when `more`); checkpoints after an erasure.
    fn commit(&self, w: &mut Writes, more: bool) -> rusqlite::Result<()> {
        self.conn
            .execute_batch(if more { "COMMIT; BEGIN" } else { "COMMIT" })?;
        if std::mem::take(&mut w.erased) {
            index::checkpoint(&self.conn);
        }
        w.pending = 0;
        Ok(())
    }

    /// Indexes what `room` holds after the index's last `seq` there, within the pass's
    /// transaction (committed every `--search-batch` entries).
    fn catch_up(&self, room: &str, w: &mut Writes) -> Result<(), IndexError> {
        let conn = &self.conn;
        let (mut epoch, mut seq) = index::progress(conn, room)?.unwrap_or_default();
        let mut members = None;
        loop {
            let (page, meta) = self.history.read(room, Range::After(seq), self.batch)?;
            if *meta.epoch != *epoch {
                // A new life of the room: what was indexed of the old one means nothing now.
                if !epoch.is_empty() {
                    index::clear_room(conn, room)?;
                    w.erased = true;
                }
                if seq > 0 {
                    (epoch, seq) = (meta.epoch.to_string(), 0);
                    continue;
                }
                epoch = meta.epoch.to_string();
            }
            if banter_protocol::is_conversation(room) && members.is_none() {
                members = self.history.members(room)?;
            }
            let last = page.last().map(Stored::seq);
            let done = page.len() < self.batch;
            w.pending += page.len();
            w.erased |= apply(conn, room, meta.oldest, entries_of(page, &members))?;
            seq = if done {
                meta.head
            } else {
                last.unwrap_or(meta.head)
            };
            index::set_progress(conn, room, &epoch, seq)?;
            if w.pending >= self.batch {
                self.commit(w, true)?;
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// What the open transaction holds.
#[derive(Debug, Default)]
struct Writes {
    pending: usize,
    erased: bool,
}

/// A page of a room's history (in `seq` order) as index entries: its messages in their current
/// state (deleted ones left out) and its change entries (see [`change`]).
pub fn entries_of(page: Vec<Stored>, members: &Option<(String, String)>) -> Vec<Entry> {
    page.into_iter()
        .filter_map(|e| match e {
            Stored::Message(m) => message(m, members),
            Stored::Change(c) => change(&c),
        })
        .collect()
}

/// A change entry (issue 16) as the index takes it: an edit gives its target new text, a
/// deletion removes its target; reactions change nothing searchable.
pub fn change(c: &Change) -> Option<Entry> {
    match c.kind {
        ChangeKind::Edit => Some(Entry::Edit {
            target: c.target,
            text: c.text.clone()?,
        }),
        ChangeKind::Delete => Some(Entry::Delete { target: c.target }),
        // Reactions and moderation entries change nothing searchable.
        _ => None,
    }
}

/// A message read from the store as an entry (none for a deleted one).
fn message(m: ChatMessage, members: &Option<(String, String)>) -> Option<Entry> {
    (!m.deleted).then(|| {
        Entry::Message(Doc {
            room: m.room,
            seq: m.seq,
            user: m.user,
            ts: m.ts,
            text: m.text,
            members: members.clone(),
        })
    })
}

/// Writes `entries` of `room`, and forgets what retention removed (below `oldest`). Returns
/// whether text was erased (an edit or a deletion): the caller then checkpoints the WAL, so no
/// old page of it stays there either.
pub fn apply(
    conn: &Connection,
    room: &str,
    oldest: u64,
    entries: impl IntoIterator<Item = Entry>,
) -> rusqlite::Result<bool> {
    let mut erased = index::remove_below(conn, room, oldest)?;
    for e in entries {
        match e {
            Entry::Message(doc) => index::insert(conn, &doc)?,
            Entry::Edit { target, text } => {
                index::edit(conn, room, target, &text)?;
                erased = true;
            }
            Entry::Delete { target } => {
                index::remove_doc(conn, room, target)?;
                erased = true;
            }
        }
    }
    Ok(erased)
}

/// Logs a failure once per run of failures; returns `true` (now failing).
fn report(failing: bool, e: &IndexError) -> bool {
    if !failing {
        tracing::warn!(error = %e, "search indexer: behind until the store answers again");
    }
    true
}
