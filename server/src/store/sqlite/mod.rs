//! The default store: SQLite in `--data-dir`, durable, with one writer thread and pooled
//! readers.
//!
//! Writes go through [`writer`] (group commit; completions after the commit, in order). Reads
//! use a small pool of read-only connections: in WAL mode they see the last commit and never
//! block the writer. A message is in a reader's view before the hub publishes it, because the
//! hub publishes from the writer's completion, after the commit.

mod checkpoint;
mod completions;
mod failures;
mod ids;
mod lifecycle;
mod members;
mod positions;
mod push;
mod recent;
mod room_lists;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use banter_protocol::http::ConversationSummary;
use rusqlite::{Connection, OptionalExtension, params};

use checkpoint::Checkpointer;
use lifecycle::{COLUMNS, row_to_entry};
pub use schema::{FILE_NAME, SCHEMA_VERSION, Sync};
use writer::{Request, Writer};

use super::{
    AppendDone, Entry, History, NewMessage, Range, Retention, RoomMeta, Settings, Store, StoreError,
};

/// `--store sqlite`: the durable history in `--data-dir`, and no bus.
pub fn open(s: &Settings) -> Result<Store, StoreError> {
    let history = SqliteStore::open(&SqliteConfig {
        dir: s.data_dir.clone(),
        sync: s.sqlite_sync,
        queue: s.queue,
        retention: s.retention,
        dedupe_window: s.dedupe_window,
        batch: s.batch,
        max_bytes: s.max_bytes,
    })?;
    let members = Arc::new(members::SqliteMembers::open(&s.data_dir)?);
    let history = Arc::new(history);
    let push = Arc::new(push::SqlitePush::open(&s.data_dir)?);
    Ok(Store::new(history.clone(), None)
        .with_positions(history.clone())
        .with_room_lists(history)
        .with_push(push)
        .with_members(members))
}

/// Readers kept open between reads.
const READER_POOL: usize = 4;

/// The SQLite store's settings.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub dir: PathBuf,
    pub sync: Sync,
    /// Appends waiting for the writer at most; more are refused as busy.
    pub queue: usize,
    pub retention: Retention,
    pub dedupe_window: Duration,
    /// The most messages one transaction carries (1 = a commit per message).
    pub batch: usize,
    /// Largest the database may grow, in bytes (0 = no limit): past it, appends are refused
    /// as [`StoreError::Full`].
    pub max_bytes: u64,
}

/// See the module docs.
pub struct SqliteStore {
    dir: PathBuf,
    epoch: Arc<str>,
    tx: SyncSender<Request>,
    readers: Mutex<Vec<Connection>>,
    alive: Arc<AtomicBool>,
}

impl SqliteStore {
    /// Opens (or creates) the database and starts the writer thread. Fails with a sentence
    /// saying what to do when the directory or file cannot be used.
    pub fn open(cfg: &SqliteConfig) -> Result<Self, StoreError> {
        let (conn, epoch) = schema::open_writer(&cfg.dir, cfg.sync, cfg.max_bytes)?;
        let reader = schema::open_reader(&cfg.dir)?;
        let checkpointer =
            Checkpointer::start(&conn, schema::open_checkpointer(&cfg.dir, cfg.sync)?)?;
        let alive = Arc::new(AtomicBool::new(true));
        let (tx, rx) = sync_channel(cfg.queue.max(1));
        let writer = Writer::new(
            conn,
            epoch.clone(),
            cfg.retention,
            cfg.dedupe_window,
            alive.clone(),
            cfg.batch,
            checkpointer,
        )
        .map_err(StoreError::failed)?;
        std::thread::Builder::new()
            .name("banter-store".into())
            .spawn(move || writer.run(rx))
            .map_err(StoreError::failed)?;
        Ok(SqliteStore {
            dir: cfg.dir.clone(),
            epoch,
            tx,
            readers: Mutex::new(vec![reader]),
            alive,
        })
    }

    /// The database's file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Runs `f` on a pooled reader.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => schema::open_reader(&self.dir)?,
        };
        let out = f(&mut conn).map_err(|e| {
            tracing::error!(error = %e, "store read failed");
            StoreError::failed(e)
        });
        let mut pool = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < READER_POOL {
            pool.push(conn);
        }
        out
    }

    fn meta(&self, conn: &Connection, room: &str) -> rusqlite::Result<(Option<i64>, RoomMeta)> {
        let row: Option<(i64, i64)> = conn
            .prepare_cached("SELECT id, head FROM rooms WHERE name = ?1")?
            .query_row(params![room], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((id, head)) = row else {
            return Ok((None, self.empty_meta()));
        };
        let oldest: Option<i64> = conn
            .prepare_cached("SELECT MIN(seq) FROM messages WHERE room_id = ?1")?
            .query_row(params![id], |r| r.get(0))?;
        let head = head as u64;
        Ok((
            Some(id),
            RoomMeta {
                epoch: self.epoch.clone(),
                head,
                oldest: oldest.map_or(head + 1, |s| s as u64),
            },
        ))
    }

    fn empty_meta(&self) -> RoomMeta {
        RoomMeta {
            epoch: self.epoch.clone(),
            head: 0,
            oldest: 1,
        }
    }
}

impl History for SqliteStore {
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        self.with_reader(|c| self.meta(c, room).map(|(_, m)| m))
    }

    fn append(&self, msg: NewMessage, done: AppendDone) {
        match self.tx.try_send(Request::Append(msg, done)) {
            Ok(()) => {}
            Err(TrySendError::Full(Request::Append(_, done))) => done(Err(StoreError::Busy)),
            Err(TrySendError::Disconnected(Request::Append(_, done))) => {
                done(Err(StoreError::failed("the store's writer has stopped")))
            }
            Err(_) => {}
        }
    }

    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<Entry>, RoomMeta), StoreError> {
        self.with_reader(|c| {
            // One read transaction: the page and the meta come from the same commit.
            let tx = c.transaction()?;
            let (id, meta) = self.meta(&tx, room)?;
            let Some(id) = id else {
                return Ok((Vec::new(), meta));
            };
            let msgs = read_range(&tx, room, id, range, limit)?;
            tx.commit()?;
            Ok((msgs, meta))
        })
    }

    fn thread(
        &self,
        room: &str,
        root: u64,
        after: u64,
        limit: usize,
    ) -> Result<super::Thread, StoreError> {
        self.with_reader(|c| {
            let tx = c.transaction()?;
            let (id, meta) = self.meta(&tx, room)?;
            let Some(id) = id else {
                return Ok((None, meta));
            };
            let found = read_range(&tx, room, id, Range::After(root.saturating_sub(1)), 1)?;
            let Some(Entry::Message(head)) = found.into_iter().next().filter(|e| e.seq() == root)
            else {
                return Ok((None, meta));
            };
            let replies = lifecycle::thread(&tx, room, id, (root, after), limit)?;
            tx.commit()?;
            Ok((Some((head, replies)), meta))
        })
    }

    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.with_reader(|c| {
            // Private conversations are not rooms to list.
            c.prepare_cached(
                "SELECT name, head FROM rooms WHERE substr(name, 1, 3) <> 'dm-'
                 ORDER BY name LIMIT ?1",
            )?
            .query_map(params![limit.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect()
        })
    }

    fn list_named(&self, names: &[String], limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let names = serde_json::to_string(names).map_err(StoreError::failed)?;
        self.with_reader(|c| {
            c.prepare_cached(
                "SELECT name, head FROM rooms
                 WHERE name IN (SELECT value FROM json_each(?1)) AND substr(name, 1, 3) <> 'dm-'
                 ORDER BY name LIMIT ?2",
            )?
            .query_map(params![names, limit.min(i64::MAX as usize) as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect()
        })
    }

    fn every_room(&self) -> Result<Vec<String>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT name FROM rooms WHERE head > 0 ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
    }

    fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT a, b FROM conversations WHERE room = ?1")?
                .query_row(params![room], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
    }

    fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        // The page is cut in the query (a sort bounded by the limit), not after reading every
        // conversation of the user.
        let mut out = self.with_reader(|c| {
            c.prepare_cached(
                "SELECT room, peer, head, ts FROM (
                   SELECT c.room AS room, CASE WHEN c.a = ?1 THEN c.b ELSE c.a END AS peer,
                     r.head AS head,
                     (SELECT ts FROM messages m WHERE m.room_id = r.id
                      ORDER BY seq DESC LIMIT 1) AS ts
                   FROM conversations c JOIN rooms r ON r.name = c.room
                   WHERE c.a = ?1 OR c.b = ?1)
                 ORDER BY ts DESC, room LIMIT ?2",
            )?
            .query_map(params![user, limit.min(i64::MAX as usize) as i64], |r| {
                Ok(ConversationSummary {
                    room: r.get(0)?,
                    with: r.get(1)?,
                    head: r.get::<_, i64>(2)? as u64,
                    ts: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                    members: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        super::most_recent_first(&mut out, limit);
        Ok(out)
    }

    fn ready(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }
}

fn read_range(
    conn: &Connection,
    room: &str,
    id: i64,
    range: Range,
    limit: usize,
) -> rusqlite::Result<Vec<Entry>> {
    let limit = limit.min(i64::MAX as usize) as i64;
    let (sql, bound) = match range {
        Range::After(since) => (
            format!(
                "SELECT {COLUMNS} FROM messages
                 WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            ),
            since,
        ),
        Range::Before(before) => (
            format!(
                "SELECT {COLUMNS} FROM messages
                 WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
            ),
            before,
        ),
    };
    let mut msgs: Vec<Entry> = conn
        .prepare_cached(&sql)?
        .query_map(params![id, bound.min(i64::MAX as u64) as i64, limit], |r| {
            row_to_entry(room, r)
        })?
        .collect::<Result<_, _>>()?;
    if matches!(range, Range::Before(_)) {
        msgs.reverse();
    }
    Ok(msgs)
}

pub fn exists(dir: &Path) -> bool {
    dir.join(FILE_NAME).exists()
}
