//! The SQLite store's v1.2 rows: a change is a row of `messages` like a message (same `seq`
//! space, same `client_key` dedupe), with its `kind`, `target` and `emoji`; a message row
//! carries its folded state (`edited_ts`, `deleted`, `reactions` as JSON, `replies`,
//! `last_reply_ts`, and `edits`, the count the edit limit checks). The writer checks and folds
//! a change into its target inside the batch's transaction ([`prepare`]), so the rules see the
//! committed state plus the batch's earlier entries, and a page is a plain range read.
//!
//! Deletion erases in the same transaction: the target's `text` and `reactions` are cleared, and
//! the `text` of its earlier edit rows and the `emoji` of its reaction rows too. With `secure_delete` on (see `schema`), SQLite
//! zeroes the freed bytes in the database file; the WAL still holds them until the
//! checkpoint that the writer asks for after a deletion (see `checkpoint`).

use banter_protocol::{Change, ChangeKind, ChatMessage, FileInfo, Reaction};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::store::entry::{self, Entry, Refusal};
use crate::store::{NewMessage, now_ms};

/// The columns [`row_to_entry`] reads, in its order.
pub const COLUMNS: &str = "seq, id, user, text, ts, kind, target, emoji, reply_to, edited_ts, \
                           deleted, reactions, replies, last_reply_ts, files";

fn kind_code(k: Option<ChangeKind>) -> i64 {
    match k {
        None => 0,
        Some(ChangeKind::Edit) => 1,
        Some(ChangeKind::Delete) => 2,
        Some(ChangeKind::React) => 3,
        Some(ChangeKind::Unreact) => 4,
        Some(ChangeKind::Member) => 5,
        Some(ChangeKind::Moderator) => 6,
        Some(ChangeKind::Owner) => 7,
        Some(ChangeKind::Remove) => 8,
        Some(ChangeKind::Ban) => 9,
        Some(ChangeKind::Unban) => 10,
        Some(ChangeKind::Mute) => 11,
        Some(ChangeKind::Unmute) => 12,
        Some(ChangeKind::Private) => 13,
        Some(ChangeKind::Public) => 14,
    }
}

fn kind_of(code: i64) -> Option<ChangeKind> {
    match code {
        1 => Some(ChangeKind::Edit),
        2 => Some(ChangeKind::Delete),
        3 => Some(ChangeKind::React),
        4 => Some(ChangeKind::Unreact),
        5 => Some(ChangeKind::Member),
        6 => Some(ChangeKind::Moderator),
        7 => Some(ChangeKind::Owner),
        8 => Some(ChangeKind::Remove),
        9 => Some(ChangeKind::Ban),
        10 => Some(ChangeKind::Unban),
        11 => Some(ChangeKind::Mute),
        12 => Some(ChangeKind::Unmute),
        13 => Some(ChangeKind::Private),
        14 => Some(ChangeKind::Public),
        _ => None,
    }
}

fn opt_u64(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<u64>> {
    Ok(r.get::<_, Option<i64>>(i)?.map(|v| v as u64))
}

/// An entry from a row read with [`COLUMNS`].
pub fn row_to_entry(room: &str, r: &Row<'_>) -> rusqlite::Result<Entry> {
    let seq = r.get::<_, i64>(0)? as u64;
    let user: String = r.get(2)?;
    let text: String = r.get(3)?;
    let ts = r.get::<_, i64>(4)? as u64;
    if let Some(kind) = kind_of(r.get(5)?) {
        return Ok(Entry::Change(Change {
            room: room.to_owned(),
            seq,
            target: opt_u64(r, 6)?.unwrap_or(0),
            user,
            ts,
            kind,
            text: ((kind == ChangeKind::Edit && !text.is_empty()) || kind.is_moderation())
                .then_some(text),
            emoji: r.get(7)?,
        }));
    }
    let reactions: Option<String> = r.get(11)?;
    let files: Option<String> = r.get(14)?;
    Ok(Entry::Message(ChatMessage {
        room: room.to_owned(),
        seq,
        id: r.get(1)?,
        user,
        text,
        ts,
        reply_to: opt_u64(r, 8)?,
        edited_ts: opt_u64(r, 9)?,
        deleted: r.get::<_, i64>(10)? != 0,
        reactions: reactions
            .and_then(|j| serde_json::from_str::<Vec<Reaction>>(&j).ok())
            .unwrap_or_default(),
        replies: opt_u64(r, 12)?,
        last_reply_ts: opt_u64(r, 13)?,
        files: files
            .and_then(|j| serde_json::from_str::<Vec<FileInfo>>(&j).ok())
            .unwrap_or_default(),
    }))
}

/// Inserts an entry's row.
pub fn insert(
    tx: &Transaction<'_>,
    room_id: i64,
    e: &Entry,
    client_key: Option<&str>,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO messages (room_id, seq, id, user, text, ts, client_key, kind, target, emoji,
           reply_to, files)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    match e {
        Entry::Message(m) => stmt.execute(params![
            room_id,
            m.seq as i64,
            m.id,
            m.user,
            m.text,
            m.ts as i64,
            client_key,
            0,
            None::<i64>,
            None::<String>,
            m.reply_to.map(|s| s as i64),
            (!m.files.is_empty()).then(|| serde_json::to_string(&m.files).unwrap_or_default()),
        ])?,
        Entry::Change(c) => stmt.execute(params![
            room_id,
            c.seq as i64,
            "",
            c.user,
            c.text.as_deref().unwrap_or_default(),
            c.ts as i64,
            client_key,
            kind_code(Some(c.kind)),
            c.target as i64,
            c.emoji,
            None::<i64>,
            None::<String>,
        ])?,
    };
    Ok(())
}

/// The message `seq` of the room with its edit count (a change's row is not a message).
fn load(
    tx: &Transaction<'_>,
    room: &str,
    room_id: i64,
    seq: u64,
) -> rusqlite::Result<Option<(ChatMessage, u32)>> {
    let sql = format!("SELECT {COLUMNS}, edits FROM messages WHERE room_id = ?1 AND seq = ?2");
    tx.prepare_cached(&sql)?
        .query_row(params![room_id, seq.min(i64::MAX as u64) as i64], |r| {
            Ok((row_to_entry(room, r)?, r.get::<_, i64>(15)? as u32))
        })
        .optional()
        .map(|found| match found {
            Some((Entry::Message(m), edits)) => Some((m, edits)),
            _ => None,
        })
}

/// Writes a message's folded state back.
fn save(tx: &Transaction<'_>, room_id: i64, m: &ChatMessage, edits: u32) -> rusqlite::Result<()> {
    let reactions =
        (!m.reactions.is_empty()).then(|| serde_json::to_string(&m.reactions).unwrap_or_default());
    tx.prepare_cached(
        "UPDATE messages SET text = ?3, edited_ts = ?4, deleted = ?5, reactions = ?6,
           replies = ?7, last_reply_ts = ?8, edits = ?9,
           files = CASE WHEN ?5 = 1 THEN NULL ELSE files END
         WHERE room_id = ?1 AND seq = ?2",
    )?
    .execute(params![
        room_id,
        m.seq as i64,
        m.text,
        m.edited_ts.map(|t| t as i64),
        i64::from(m.deleted),
        reactions,
        m.replies.map(|t| t as i64),
        m.last_reply_ts.map(|t| t as i64),
        edits,
    ])?;
    Ok(())
}

/// What an append becomes once checked.
pub enum Prepared {
    Entry(Entry),
    /// A change that changes nothing: the target as it is.
    Noop(ChatMessage),
}

/// Builds the entry `seq` of `msg` (`id` for a message), checking a change or a reply against
/// the stored state and folding it into what it changes. Nothing is written when refused.
pub fn prepare(
    tx: &Transaction<'_>,
    room_id: i64,
    seq: u64,
    id: String,
    msg: &mut NewMessage,
) -> rusqlite::Result<Result<Prepared, Refusal>> {
    let room = msg.room.clone();
    let Some(change) = msg.change.clone() else {
        let ts = now_ms();
        let mut m = ChatMessage {
            room: room.to_string(),
            seq,
            id,
            user: std::mem::take(&mut msg.user),
            text: std::mem::take(&mut msg.text),
            ts,
            files: std::mem::take(&mut msg.files),
            ..Default::default()
        };
        if let Some(parent) = msg.reply_to {
            let Some((parent, edits)) = load(tx, &room, room_id, parent)? else {
                return Ok(Err(Refusal::NotFound));
            };
            let root = entry::thread_root(&parent);
            m.reply_to = Some(root);
            let found = if root == parent.seq {
                Some((parent, edits))
            } else {
                load(tx, &room, room_id, root)?
            };
            if let Some((mut root_msg, edits)) = found {
                entry::fold_reply(&mut root_msg, &m);
                save(tx, room_id, &root_msg, edits)?;
            }
            tx.prepare_cached("INSERT INTO replies (room_id, root, seq) VALUES (?1, ?2, ?3)")?
                .execute(params![room_id, root as i64, seq as i64])?;
        }
        return Ok(Ok(Prepared::Entry(Entry::Message(m))));
    };
    if change.kind.is_moderation() {
        // A moderation entry changes no message: it only takes its `seq` (see `crate::rooms`).
        let Some(c) = msg.change_entry(seq, now_ms()) else {
            return Ok(Err(Refusal::NotFound));
        };
        return Ok(Ok(Prepared::Entry(Entry::Change(c))));
    }
    let Some((mut target, edits)) = load(tx, &room, room_id, change.target)? else {
        return Ok(Err(Refusal::NotFound));
    };
    match entry::check(&target, edits, &change, &msg.user) {
        Err(refusal) => return Ok(Err(refusal)),
        Ok(false) => return Ok(Ok(Prepared::Noop(target))),
        Ok(true) => {}
    }
    let Some(c) = msg.change_entry(seq, now_ms()) else {
        return Ok(Err(Refusal::NotFound));
    };
    entry::fold(&mut target, &c);
    let edits = edits + u32::from(c.kind == ChangeKind::Edit);
    save(tx, room_id, &target, edits)?;
    if c.kind == ChangeKind::Delete {
        tx.prepare_cached(
            "UPDATE messages SET text = '', emoji = NULL
             WHERE room_id = ?1 AND kind IN (1, 3, 4) AND target = ?2",
        )?
        .execute(params![room_id, c.target as i64])?;
    }
    Ok(Ok(Prepared::Entry(Entry::Change(c))))
}

/// The replies of thread `root` after `seq` `after`, ascending, at most `limit`.
pub fn thread(
    conn: &rusqlite::Connection,
    room: &str,
    room_id: i64,
    (root, after): (u64, u64),
    limit: usize,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE room_id = ?1 AND seq IN
           (SELECT seq FROM replies WHERE room_id = ?1 AND root = ?2 AND seq > ?4
            ORDER BY seq LIMIT ?3)
         ORDER BY seq"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                room_id,
                root.min(i64::MAX as u64) as i64,
                limit.min(i64::MAX as usize) as i64,
                after.min(i64::MAX as u64) as i64
            ],
            |r| row_to_entry(room, r),
        )?
        .collect::<rusqlite::Result<Vec<Entry>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|e| match e {
            Entry::Message(m) => Some(m),
            Entry::Change(_) => None,
        })
        .collect())
}
