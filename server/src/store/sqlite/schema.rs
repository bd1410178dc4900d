//! The SQLite file's layout and how a connection is set up: WAL, `synchronous`, the schema
//! version check, and the database's epoch.
//!
//! One epoch per database: a room's history in SQLite is lost only when the file is (a wiped or
//! replaced data directory), and then every room starts over together. Retention deletes old
//! messages but never changes what a `seq` means, so it keeps the epoch.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::store::StoreError;

/// The schema this build writes. A file with a higher `user_version` came from a newer Banter.
/// 2 added `conversations`: a build of schema 1 must not open it, since it would let anyone
/// into private conversations. 3 (v1.2) added change entries and folded state to `messages`
/// and the `replies` table ([`lifecycle_step`]): a build of schema 2 would show a change as a
/// message. 4 (v1.2) added `room_access` and `room_members` ([`members_step`]): a build of
/// schema 3 would let anyone into a private room.
pub const SCHEMA_VERSION: i64 = 4;

/// The database file inside `--data-dir`.
pub const FILE_NAME: &str = "banter.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    head INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    room_id    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT NOT NULL,
    user       TEXT NOT NULL,
    text       TEXT NOT NULL,
    ts         INTEGER NOT NULL,
    client_key TEXT,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;
-- Not a partial index: a statement whose plan depends on a bound value being non-null (as
-- with a partial index) is re-prepared at every step, which cost more than the whole insert.
CREATE INDEX IF NOT EXISTS messages_client_key ON messages (room_id, client_key);
-- The two members of each private conversation (a room named `dm-…`), written with its
-- messages; `a < b`, or `a = b` for a conversation with oneself.
CREATE TABLE IF NOT EXISTS conversations (
    room TEXT PRIMARY KEY,
    a    TEXT NOT NULL,
    b    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_a ON conversations (a);
CREATE INDEX IF NOT EXISTS conversations_b ON conversations (b);
";

/// Read positions (added after schema 2; a build without it ignores the table): each user's
/// position in each room, the highest `seq` they have read.
const READ_POSITIONS: &str = "
CREATE TABLE IF NOT EXISTS read_positions (
    user TEXT NOT NULL,
    room TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (user, room)
) WITHOUT ROWID;
";

/// Schema 1 → 2: rooms named `dm-…` become `legacy-dm-…`, or `legacy-dm-…-2` (`-3`, …) when a
/// room of that name exists already: the migration never stops a start on a name clash.
fn rename_legacy_dm_rooms(conn: &Connection) -> rusqlite::Result<()> {
    let old: Vec<(i64, String)> = conn
        .prepare("SELECT id, name FROM rooms WHERE substr(name, 1, 3) = 'dm-'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut taken = conn.prepare("SELECT 1 FROM rooms WHERE name = ?1")?;
    for (id, name) in old {
        let mut new = format!("legacy-{name}");
        let mut n = 1;
        while taken.exists(params![new])? {
            n += 1;
            new = format!("legacy-{name}-{n}");
        }
        if n > 1 {
            tracing::warn!(
                room = name,
                renamed = new,
                "schema 2: a legacy `dm-` room renamed"
            );
        }
        conn.execute("UPDATE rooms SET name = ?1 WHERE id = ?2", params![new, id])?;
    }
    Ok(())
}

/// Schema 3 (v1.2, message lifecycle): the columns of change entries and of folded state on
/// `messages` (see `lifecycle`), and the `replies` index of threads (a row per reply only, so a
/// plain message costs no index entry). Idempotent: a column already there is kept.
fn lifecycle_step(conn: &Connection) -> rusqlite::Result<()> {
    const COLUMNS: [(&str, &str); 10] = [
        ("kind", "INTEGER NOT NULL DEFAULT 0"),
        ("target", "INTEGER"),
        ("emoji", "TEXT"),
        ("reply_to", "INTEGER"),
        ("edited_ts", "INTEGER"),
        ("deleted", "INTEGER NOT NULL DEFAULT 0"),
        ("reactions", "TEXT"),
        ("replies", "INTEGER"),
        ("last_reply_ts", "INTEGER"),
        ("edits", "INTEGER NOT NULL DEFAULT 0"),
    ];
    let have: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('messages')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, decl) in COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE messages ADD COLUMN {name} {decl}"))?;
        }
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS replies (
             room_id INTEGER NOT NULL,
             root    INTEGER NOT NULL,
             seq     INTEGER NOT NULL,
             PRIMARY KEY (room_id, root, seq)
         ) WITHOUT ROWID;",
    )
}

/// Schema 4 (v1.2, private rooms and moderation): a created room's privacy, and each user's
/// standing in a room (role: 1 member, 2 moderator, 3 owner; muted; banned). See
/// `members.rs`.
fn members_step(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS room_access (
             room    TEXT PRIMARY KEY,
             private INTEGER NOT NULL,
             ts      INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS room_members (
             room   TEXT NOT NULL,
             user   TEXT NOT NULL,
             role   INTEGER,
             muted  INTEGER NOT NULL DEFAULT 0,
             banned INTEGER NOT NULL DEFAULT 0,
             PRIMARY KEY (room, user)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS room_members_user ON room_members (user);",
    )
}

/// A read-write connection beside the writer's, for rare writes of their own (room members):
/// WAL, and a busy timeout to wait for the writer's commits.
pub fn open_side(dir: &Path) -> Result<Connection, StoreError> {
    let path = dir.join(FILE_NAME);
    let conn = Connection::open(&path).map_err(|e| failed("cannot open", &path, e))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
        .map_err(|e| failed("cannot open", &path, e))?;
    Ok(conn)
}

/// How hard a commit pushes to the disk (`--sqlite-sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Sync {
    /// fsync on every commit: an acked message survives power loss.
    #[default]
    Full,
    /// fsync at WAL checkpoints only: an acked message survives a crash of Banter, but the
    /// last commits may be lost on power loss (and their `seq`s then reused in the same epoch).
    Normal,
}

impl Sync {
    fn pragma(self) -> &'static str {
        match self {
            Sync::Full => "FULL",
            Sync::Normal => "NORMAL",
        }
    }
}

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!(
        "{what} {}: {e} (set --data-dir or BANTER_DATA_DIR to a writable directory)",
        path.display()
    ))
}

/// Opens (creating when needed) the writer's connection: checks the schema version, sets WAL
/// and `synchronous`, creates the tables, and returns it with the database's epoch.
pub fn open_writer(
    dir: &Path,
    sync: Sync,
    max_bytes: u64,
) -> Result<(Connection, Arc<str>), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| failed("cannot create the data directory", dir, e))?;
    let path = dir.join(FILE_NAME);
    let conn = Connection::open(&path).map_err(|e| failed("cannot open", &path, e))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| failed("cannot read", &path, e))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::failed(format!(
            "{} was written by a newer Banter (schema {version}, this build knows {SCHEMA_VERSION}): \
             upgrade banter, or point --data-dir elsewhere",
            path.display()
        )));
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| failed("cannot write to", &path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(failed("cannot use WAL for", &path, mode));
    }
    // Before schema 2, `dm-…` was an ordinary room name anyone could write to: such rooms are
    // renamed, so nothing planted there before can appear in a private conversation.
    let setup = format!(
        "PRAGMA synchronous = {}; PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON; \
         BEGIN; {SCHEMA} {READ_POSITIONS}",
        sync.pragma()
    );
    conn.execute_batch(&setup)
        .and_then(|()| {
            if version < 2 {
                rename_legacy_dm_rooms(&conn)?;
            }
            lifecycle_step(&conn)?;
            members_step(&conn)?;
            conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))
        })
        .map_err(|e| failed("cannot write to", &path, e))?;
    let epoch = epoch(&conn).map_err(|e| failed("cannot write to", &path, e))?;
    if max_bytes > 0 {
        limit_size(&conn, max_bytes).map_err(|e| failed("cannot limit the size of", &path, e))?;
    }
    Ok((conn, epoch))
}

/// Caps the database at `max_bytes` (`--store-max-bytes`) through `max_page_count`: past it a
/// write fails with `SQLITE_FULL` and the writer refuses the batch. The cap is the
/// connection's, not the file's, so each start sets it again.
fn limit_size(conn: &Connection, max_bytes: u64) -> rusqlite::Result<()> {
    let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    let wanted = (max_bytes / page.max(1) as u64).clamp(1, i64::MAX as u64) as i64;
    // SQLite never sets the cap below the pages already in use.
    let set: i64 = conn.pragma_update_and_check(None, "max_page_count", wanted, |r| r.get(0))?;
    if set > wanted {
        tracing::warn!(
            max_bytes,
            size = set * page,
            "the database is already larger than --store-max-bytes: posts are refused until \
             space is freed"
        );
    }
    Ok(())
}

/// The database's epoch, made when the file was created.
fn epoch(conn: &Connection) -> rusqlite::Result<Arc<str>> {
    let found: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(e) = found {
        return Ok(e.into());
    }
    let e = crate::store::new_epoch();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('epoch', ?1)",
        params![&*e],
    )?;
    Ok(e)
}

/// A read-write connection for the checkpoint thread, synced as `sync` says (a checkpoint
/// syncs the database file with the checkpointing connection's `synchronous`).
pub fn open_checkpointer(dir: &Path, sync: Sync) -> Result<Connection, StoreError> {
    let path = dir.join(FILE_NAME);
    let conn = Connection::open(&path).map_err(|e| failed("cannot open", &path, e))?;
    // A short busy timeout: a `TRUNCATE` checkpoint holds off new writes while it waits for
    // readers, so it gives up soon (and is retried) rather than stall the writer for long.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA busy_timeout = 100; PRAGMA secure_delete = ON;",
        sync.pragma()
    ))
    .map_err(|e| failed("cannot open", &path, e))?;
    Ok(conn)
}

/// A read-only connection for readers (WAL: they never block the writer, nor it them).
pub fn open_reader(dir: &Path) -> Result<Connection, StoreError> {
    let path = dir.join(FILE_NAME);
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed("cannot open", &path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| failed("cannot open", &path, e))?;
    Ok(conn)
}
