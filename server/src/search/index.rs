//! The search index's SQLite file (`search.db`, apart from the messages' `banter.db`, so a search
//! never blocks the message writer nor it a search): its tables, how a connection is opened, and
//! the writes the indexer makes.
//!
//! Two FTS5 indexes over one `docs` table (external content, so the text is kept once):
//! - `words` (`unicode61 remove_diacritics 2`): words with case and diacritics folded; every
//!   CJK character (Han, kana, Hangul) is its own token (a zero-width space is put between them
//!   in `docs.body`), so a CJK query of any length is a phrase of its characters.
//! - `grams` (`trigram case_sensitive 0`, `detail=none columnsize=0`): any substring of three
//!   characters or more (`ploy` finds `deploy`), asked with `LIKE '%ploy%'`: the index gives the
//!   messages holding every trigram of it, SQLite checks the text. (Not `remove_diacritics`:
//!   FTS5 then cannot answer `LIKE` from the index and reads every message, 0.2–0.7 s over a
//!   million; `LIKE` folds only ASCII case anyway.) Without positions and sizes it costs a
//!   quarter of what a full trigram index costs to write (the largest share of indexing), at
//!   the price of ranking: a substring match has no word to count (ranked newest first).
//!
//! Both are written with FTS5's `secure-delete` on and the file with `PRAGMA secure_delete`:
//! a deleted message leaves no token of its text in the index nor its bytes in free pages.
//! `progress` holds, per room, the epoch and the last `seq` indexed: what the indexer resumes
//! from after a crash.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::SearchError;
use super::text::{self, Doc};

/// The schema this build writes; another one is rebuilt from the messages.
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS docs (
    -- In time order (see `next_id`): the newest matches are the highest rowids.
    id   INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    user TEXT NOT NULL,
    ts   INTEGER NOT NULL,
    -- A conversation's two members (NULL in a room): who may find its messages.
    a    TEXT,
    b    TEXT,
    text TEXT NOT NULL,
    -- The text as the `words` index reads it, when it differs from `text` (CJK spaced).
    body TEXT,
    UNIQUE (room, seq)
);
CREATE INDEX IF NOT EXISTS docs_user ON docs (user);
CREATE VIEW IF NOT EXISTS docs_words AS SELECT id, coalesce(body, text) AS body FROM docs;
CREATE VIRTUAL TABLE IF NOT EXISTS words USING fts5(
    body, content = 'docs_words', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS grams USING fts5(
    text, content = 'docs', content_rowid = 'id', detail = none, columnsize = 0,
    tokenize = 'trigram case_sensitive 0');
INSERT INTO words (words, rank) VALUES ('secure-delete', 1);
INSERT INTO grams (grams, rank) VALUES ('secure-delete', 1);
-- Merge 8 segments of a level at once, not 4: fewer rewrites of the same postings (a third
-- less CPU per message indexed), a few more segments for a search to read.
INSERT INTO words (words, rank) VALUES ('automerge', 8);
INSERT INTO grams (grams, rank) VALUES ('automerge', 8);
CREATE TABLE IF NOT EXISTS progress (
    room  TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    seq   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

fn failed(what: &str, path: &Path, e: impl std::fmt::Display) -> SearchError {
    SearchError::Failed(format!("{what} {}: {e}", path.display()))
}

/// Opens (creating when needed) the indexer's connection. A file of another schema, or one
/// that cannot be read, is removed and made again: the index is rebuilt from the messages.
pub fn open_writer(path: &Path) -> Result<Connection, SearchError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed("cannot create", dir, e))?;
    }
    match try_open(path) {
        Ok(conn) => Ok(conn),
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "search index unusable: rebuilt");
            remove(path)?;
            try_open(path).map_err(|e| failed("cannot write the search index", path, e))
        }
    }
}

fn try_open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version != 0 && version != SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidQuery);
    }
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    // The index is rebuilt from the messages after a crash: no fsync on every batch.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;")?;
    if version == 0 {
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))?;
    }
    Ok(conn)
}

/// Removes the index file and its WAL (`banter reindex`, or an unusable file).
pub fn remove(path: &Path) -> Result<(), SearchError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed("cannot remove", Path::new(&p), e)),
        }
    }
    Ok(())
}

/// A read-only connection for searches (WAL: never blocks the indexer, nor it them).
pub fn open_reader(path: &Path) -> Result<Connection, SearchError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed("cannot open", path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| failed("cannot open", path, e))?;
    Ok(conn)
}

/// A value of `meta` (e.g. the messages' epoch the index belongs to).
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
        r.get(0)
    })
    .optional()
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Where the index stands in `room`: its epoch and last indexed `seq`.
pub fn progress(conn: &Connection, room: &str) -> rusqlite::Result<Option<(String, u64)>> {
    conn.prepare_cached("SELECT epoch, seq FROM progress WHERE room = ?1")?
        .query_row(params![room], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
        })
        .optional()
}

pub fn set_progress(conn: &Connection, room: &str, epoch: &str, seq: u64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO progress (room, epoch, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (room) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq",
    )?
    .execute(params![room, epoch, seq.min(i64::MAX as u64) as i64])?;
    Ok(())
}

/// Indexes one message (a message already indexed under its `seq` is replaced).
pub fn insert(conn: &Connection, doc: &Doc) -> rusqlite::Result<()> {
    remove_doc(conn, &doc.room, doc.seq)?;
    let (text, body) = text::prepare(&doc.text);
    let id = next_id(conn, doc.ts)?;
    conn.prepare_cached(
        "INSERT INTO docs (id, room, seq, user, ts, a, b, text, body)
         VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        doc.room,
        doc.seq.min(i64::MAX as u64) as i64,
        doc.user,
        doc.ts.min(i64::MAX as u64) as i64,
        doc.members.as_ref().map(|m| &m.0),
        doc.members.as_ref().map(|m| &m.1),
        text,
        body,
        id,
    ])?;
    let words = body.as_deref().unwrap_or(&text);
    conn.prepare_cached("INSERT INTO words (rowid, body) VALUES (?1, ?2)")?
        .execute(params![id, words])?;
    conn.prepare_cached("INSERT INTO grams (rowid, text) VALUES (?1, ?2)")?
        .execute(params![id, text])?;
    Ok(())
}

/// Ids per millisecond of `ts`: a message's id is `ts << ID_BITS` plus the next free one of its
/// millisecond, so ids follow time whatever order rooms are indexed in (a rebuild goes room by
/// room), and "the newest matches" is "the highest rowids", which FTS5 reads first. (8 bits: 256
/// messages a millisecond, far above what one writer stores, and small rowid deltas in FTS5's
/// doclists.)
const ID_BITS: u32 = 8;

/// The id for a message of time `ts` (ms).
fn next_id(conn: &Connection, ts: u64) -> rusqlite::Result<i64> {
    let base = (ts.min((1 << (63 - ID_BITS)) - 1) as i64) << ID_BITS;
    let id: i64 = conn
        .prepare_cached(
            "SELECT coalesce(max(id) + 1, ?1) FROM docs WHERE id >= ?1 AND id < ?1 + ?2",
        )?
        .query_row(params![base, 1i64 << ID_BITS], |r| r.get(0))?;
    if id < base + (1 << ID_BITS) {
        return Ok(id);
    }
    // 256 messages in one millisecond: after the newest (still unique).
    conn.query_row("SELECT max(id) + 1 FROM docs", [], |r| r.get(0))
}

/// Replaces the text of message `seq` of `room` (an edit); nothing when it is not indexed.
pub fn edit(conn: &Connection, room: &str, seq: u64, new_text: &str) -> rusqlite::Result<()> {
    type Kept = (String, u64, Option<(String, String)>);
    let old: Option<Kept> = conn
        .prepare_cached("SELECT user, ts, a, b FROM docs WHERE room = ?1 AND seq = ?2")?
        .query_row(params![room, seq.min(i64::MAX as u64) as i64], |r| {
            let a: Option<String> = r.get(2)?;
            let b: Option<String> = r.get(3)?;
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, a.zip(b)))
        })
        .optional()?;
    let Some((user, ts, members)) = old else {
        return Ok(());
    };
    insert(
        conn,
        &Doc {
            room: room.to_owned(),
            seq,
            user,
            ts,
            text: new_text.to_owned(),
            members,
        },
    )
}

/// Removes message `seq` of `room` from both indexes and the table (a deletion): with
/// secure-delete, nothing of its text stays in the file.
pub fn remove_doc(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<()> {
    let old: Option<(i64, String, Option<String>)> = conn
        .prepare_cached("SELECT id, text, body FROM docs WHERE room = ?1 AND seq = ?2")?
        .query_row(params![room, seq.min(i64::MAX as u64) as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((id, text, body)) = old else {
        return Ok(());
    };
    let words = body.as_deref().unwrap_or(&text);
    conn.prepare_cached("INSERT INTO words (words, rowid, body) VALUES ('delete', ?1, ?2)")?
        .execute(params![id, words])?;
    conn.prepare_cached("INSERT INTO grams (grams, rowid, text) VALUES ('delete', ?1, ?2)")?
        .execute(params![id, text])?;
    conn.prepare_cached("DELETE FROM docs WHERE id = ?1")?
        .execute(params![id])?;
    Ok(())
}

/// Forgets every message of `room` (its history began again in a new epoch).
pub fn clear_room(conn: &Connection, room: &str) -> rusqlite::Result<()> {
    let seqs: Vec<i64> = conn
        .prepare_cached("SELECT seq FROM docs WHERE room = ?1")?
        .query_map(params![room], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for seq in seqs {
        remove_doc(conn, room, seq as u64)?;
    }
    conn.prepare_cached("DELETE FROM progress WHERE room = ?1")?
        .execute(params![room])?;
    Ok(())
}

/// Copies the WAL into the file and empties it (after text was erased: with `secure_delete`
/// the freed pages are zeroed, and no old image of them stays in the WAL). Best effort: a search
/// reading meanwhile keeps part of the WAL until the next one.
pub fn checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::debug!(error = %e, "search index checkpoint");
    }
}

/// Forgets the messages of `room` below `oldest` (removed by retention); whether any was.
pub fn remove_below(conn: &Connection, room: &str, oldest: u64) -> rusqlite::Result<bool> {
    let seqs: Vec<i64> = conn
        .prepare_cached("SELECT seq FROM docs WHERE room = ?1 AND seq < ?2")?
        .query_map(params![room, oldest.min(i64::MAX as u64) as i64], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    let any = !seqs.is_empty();
    for seq in seqs {
        remove_doc(conn, room, seq as u64)?;
    }
    Ok(any)
}
