//! The SQLite store's one writer thread: group commit, then completions in `seq` order.
//!
//! Appends arrive on a bounded queue (`--store-queue`; full: the append is refused as busy, never
//! waited for). The thread takes everything queued (up to `--store-batch`), writes it in one
//! transaction and commits once; only then does it hand the batch's completions, in order, to
//! the completion thread ([`super::completions`]), which is where the hub fans each message out
//! and acks it. One fsync thus covers a whole batch, and the busier the server the larger the
//! batches. If the commit fails, every append of the batch is refused and nothing of it is
//! published: nothing is acked that is not stored. Failures are logged once per burst
//! ([`super::failures`]).
//!
//! Retention (`--retain-messages`, `--retain-age`) runs here too: count pruning inside each
//! batch's transaction for the rooms it wrote, age pruning of every room once a minute.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Retention;
use super::failures::FailureLog;
use super::lifecycle::{self, COLUMNS, Prepared, row_to_entry};
use super::recent::RecentKeys;
use banter_protocol::ChangeKind;

use super::checkpoint::Checkpointer;
use super::completions::{Completions, Outcome};
use super::ids::Ids;
use crate::store::{AppendDone, Entry, NewMessage, Position, PositionsDone, StoreError, now_ms};

/// How often rooms are pruned by age.
const AGE_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What the writer is asked to do.
pub enum Request {
    Append(NewMessage, AppendDone),
    /// Read positions to save (see `super::positions`).
    Positions(Vec<Position>, PositionsDone),
    /// A small write of its own, in its own transaction between message batches (a user's
    /// room list: see `super::room_lists`).
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// A room as the writer caches it: its row id and head.
#[derive(Clone, Copy)]
struct RoomRow {
    id: i64,
    head: u64,
}

/// Rooms cached by name; cleared when it grows past this (it is only a cache).
const ROOM_CACHE: usize = 4096;

/// Dedupe keys remembered in memory to skip lookups (see [`RecentKeys`]).
const RECENT_KEYS: usize = 100_000;

pub struct Writer {
    pub conn: Connection,
    pub retention: Retention,
    pub dedupe_window: Duration,
    pub alive: Arc<AtomicBool>,
    /// The most appends one transaction carries.
    pub max_batch: usize,
    rooms: HashMap<Arc<str>, RoomRow>,
    recent: RecentKeys,
    failures: FailureLog,
    completions: Completions,
    checkpointer: Checkpointer,
    ids: Ids,
    last_age_prune: Instant,
}

impl Writer {
    pub fn new(
        conn: Connection,
        epoch: Arc<str>,
        retention: Retention,
        dedupe_window: Duration,
        alive: Arc<AtomicBool>,
        max_batch: usize,
        checkpointer: Checkpointer,
    ) -> std::io::Result<Self> {
        let newest = newest_on_disk(&conn);
        let completions = Completions::start(epoch.clone())?;
        Ok(Writer {
            conn,
            retention,
            dedupe_window,
            alive,
            max_batch: max_batch.max(1),
            rooms: HashMap::new(),
            recent: RecentKeys::new(dedupe_window.as_millis() as u64, RECENT_KEYS, newest),
            failures: FailureLog::default(),
            completions,
            checkpointer,
            ids: Ids::new(),
            last_age_prune: Instant::now(),
        })
    }

    /// Runs until every sender is gone.
    pub fn run(mut self, rx: Receiver<Request>) {
        let mut batch: Vec<(NewMessage, AppendDone)> = Vec::with_capacity(64);
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(request) = next.take() {
                match request {
                    Request::Append(m, d) => batch.push((m, d)),
                    Request::Positions(p, done) => self.save_positions(&p, done),
                    Request::Run(job) => job(&mut self.conn),
                }
                if batch.len() < self.max_batch {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
            }
            self.maybe_prune_by_age();
        }
        self.alive.store(false, Ordering::Release);
    }

    /// Writes `batch` in one transaction and commits, then hands the completions over to the
    /// completion thread, in order.
    fn commit(&mut self, batch: &mut Vec<(NewMessage, AppendDone)>) {
        let started = Instant::now();
        let written = self.write(batch);
        let outcomes: Vec<Outcome> = match written {
            Ok(outcomes) => {
                self.checkpointer.committed();
                self.alive.store(true, Ordering::Release);
                self.failures.succeeded();
                outcomes
            }
            Err(e) => {
                let full = is_full(&e);
                self.failures.failed(&e, full, batch.len());
                // The cached heads may be ahead of what was committed.
                self.rooms.clear();
                self.alive.store(false, Ordering::Release);
                let err = if full {
                    StoreError::Full
                } else {
                    StoreError::failed(e)
                };
                batch.iter().map(|_| Outcome::Failed(err.clone())).collect()
            }
        };
        tracing::trace!(batch = batch.len(), elapsed = ?started.elapsed(), "store commit");
        crate::metrics::store_commit(started.elapsed(), batch.len());
        let done = batch.drain(..).map(|(_, done)| done).zip(outcomes);
        self.completions.send(done.collect());
    }

    /// Writes the batch in one transaction; the messages' texts are moved out of it.
    fn write(&mut self, batch: &mut [(NewMessage, AppendDone)]) -> rusqlite::Result<Vec<Outcome>> {
        // IMMEDIATE: the write lock is taken (waiting out a checkpoint) before the first read.
        // A deferred transaction that reads and then writes cannot wait: when a `TRUNCATE`
        // checkpoint reset the WAL under its snapshot, its upgrade fails at once with "database
        // is locked", and the batch would be refused.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(batch.len());
        let mut dirty: Vec<Arc<str>> = Vec::new();
        let now = now_ms();
        let cutoff = now.saturating_sub(self.dedupe_window.as_millis() as u64);
        let mut erased = false;
        for (msg, _) in batch.iter_mut() {
            let row = room_row(&tx, &mut self.rooms, &msg.room)?;
            if let Some(key) = &msg.dedupe_key
                && self.recent.may_exist(&msg.room, key, now)
                && let Some(original) = find_duplicate(&tx, &msg.room, row.id, key, cutoff)?
            {
                out.push(Outcome::Duplicate(original));
                continue;
            }
            let seq = row.head + 1;
            let id = if msg.change.is_some() {
                String::new()
            } else {
                self.ids.next(now)
            };
            let entry = match lifecycle::prepare(&tx, row.id, seq, id, msg)? {
                Ok(Prepared::Entry(e)) => e,
                Ok(Prepared::Noop(target)) => {
                    out.push(Outcome::Noop(target));
                    continue;
                }
                Err(refusal) => {
                    out.push(Outcome::Failed(StoreError::Refused(refusal)));
                    continue;
                }
            };
            if matches!(&entry, Entry::Change(c) if c.kind == ChangeKind::Delete) {
                erased = true;
            }
            lifecycle::insert(&tx, row.id, &entry, msg.dedupe_key.as_deref())?;
            if let Some(r) = self.rooms.get_mut(&msg.room) {
                r.head = seq;
            }
            // Members are recorded with a conversation's first message.
            if let Some((a, b)) = &msg.members
                && row.head == 0
            {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO conversations (room, a, b) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![&*msg.room, &**a, &**b])?;
            }
            if let Some(key) = &msg.dedupe_key {
                self.recent.insert(&msg.room, key, entry.ts());
            }
            if !dirty.contains(&msg.room) {
                dirty.push(msg.room.clone());
            }
            out.push(Outcome::Stored(entry));
        }
        for room in &dirty {
            if let Some(r) = self.rooms.get(room) {
                tx.prepare_cached("UPDATE rooms SET head = ?1 WHERE id = ?2")?
                    .execute(params![r.head as i64, r.id])?;
                if let Some(keep) = self.retention.messages {
                    let below = r.head.saturating_sub(keep) as i64;
                    tx.prepare_cached("DELETE FROM messages WHERE room_id = ?1 AND seq <= ?2")?
                        .execute(params![r.id, below])?;
                    tx.prepare_cached("DELETE FROM replies WHERE room_id = ?1 AND seq <= ?2")?
                        .execute(params![r.id, below])?;
                }
            }
        }
        tx.commit()?;
        if erased {
            self.checkpointer.erase();
        }
        Ok(out)
    }

    /// Saves a batch of read positions in its own short transaction.
    fn save_positions(&mut self, batch: &[Position], done: PositionsDone) {
        let saved = super::positions::save(&mut self.conn, batch).map_err(|e| {
            tracing::warn!(error = %e, "read positions could not be saved");
            if is_full(&e) {
                StoreError::Full
            } else {
                StoreError::failed(e)
            }
        });
        done(saved);
    }

    /// Deletes messages older than `--retain-age`, oldest first, a chunk per room at a time.
    fn maybe_prune_by_age(&mut self) {
        let Some(age) = self.retention.age else {
            return;
        };
        if self.last_age_prune.elapsed() < AGE_PRUNE_EVERY {
            return;
        }
        self.last_age_prune = Instant::now();
        let cutoff = now_ms().saturating_sub(age.as_millis() as u64) as i64;
        if let Err(e) = prune_by_age(&self.conn, cutoff) {
            tracing::warn!(error = %e, "pruning old messages failed; will retry");
        }
    }
}

/// Whether `e` says there is no space left (`--store-max-bytes` reached, or the disk is full).
fn is_full(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
}

/// When the newest stored message was written (ms), or "now" if that cannot be read (so the
/// recent-keys set distrusts itself for a window, and every append is looked up).
fn newest_on_disk(conn: &Connection) -> Option<u64> {
    let newest = || -> rusqlite::Result<Option<i64>> {
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM rooms")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut last =
            conn.prepare("SELECT ts FROM messages WHERE room_id = ?1 ORDER BY seq DESC LIMIT 1")?;
        let mut newest: Option<i64> = None;
        for id in ids {
            let ts: Option<i64> = last.query_row(params![id], |r| r.get(0)).optional()?;
            newest = newest.max(ts);
        }
        Ok(newest)
    };
    match newest() {
        Ok(ts) => ts.map(|t| t.max(0) as u64),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the newest message's time");
            Some(now_ms())
        }
    }
}

fn prune_by_age(conn: &Connection, cutoff: i64) -> rusqlite::Result<()> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM rooms")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut delete = conn.prepare(
        "DELETE FROM messages WHERE room_id = ?1 AND ts < ?2 AND seq IN
           (SELECT seq FROM messages WHERE room_id = ?1 ORDER BY seq LIMIT 1000)",
    )?;
    // A thread's index keeps no reply that retention removed.
    let mut replies = conn.prepare(
        "DELETE FROM replies WHERE room_id = ?1 AND seq <
           (SELECT COALESCE(MIN(seq), (SELECT head + 1 FROM rooms WHERE id = ?1))
            FROM messages WHERE room_id = ?1)",
    )?;
    for id in ids {
        while delete.execute(params![id, cutoff])? == 1000 {}
        replies.execute(params![id])?;
    }
    Ok(())
}

/// The room's row, created on its first message.
fn room_row(
    tx: &Transaction<'_>,
    cache: &mut HashMap<Arc<str>, RoomRow>,
    room: &Arc<str>,
) -> rusqlite::Result<RoomRow> {
    if let Some(r) = cache.get(room) {
        return Ok(*r);
    }
    let found: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, head FROM rooms WHERE name = ?1")?
        .query_row(params![&**room], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let row = match found {
        Some((id, head)) => RoomRow {
            id,
            head: head as u64,
        },
        None => {
            tx.prepare_cached("INSERT INTO rooms (name, head) VALUES (?1, 0)")?
                .execute(params![&**room])?;
            RoomRow {
                id: tx.last_insert_rowid(),
                head: 0,
            }
        }
    };
    if cache.len() >= ROOM_CACHE {
        cache.clear();
    }
    cache.insert(room.clone(), row);
    Ok(row)
}

/// The entry stored under `key` in this room since `cutoff` (ms), if any (the newest, should
/// the key have been used again after an earlier window), in its current state.
fn find_duplicate(
    tx: &Transaction<'_>,
    room: &str,
    room_id: i64,
    key: &str,
    cutoff: u64,
) -> rusqlite::Result<Option<Entry>> {
    // INDEXED BY: without statistics the planner would rather scan the room by its primary
    // key, which makes every append cost O(room size). No `ts >= ?` range, no `ORDER BY ...
    // LIMIT`: either makes SQLite re-prepare the statement at every binding (measured: a
    // re-prepare per append, a sixth of the writer's time), so the window and the newest are
    // picked here, among the (nearly always zero or one) rows of this key.
    let mut newest: Option<Entry> = None;
    let sql = format!(
        "SELECT {COLUMNS} FROM messages INDEXED BY messages_client_key
         WHERE room_id = ?1 AND client_key = ?2"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![room_id, key])?;
    while let Some(row) = rows.next()? {
        let m = row_to_entry(room, row)?;
        if newest.as_ref().is_none_or(|n| m.seq() > n.seq()) {
            newest = Some(m);
        }
    }
    Ok(newest.filter(|m| m.ts() >= cutoff))
}
