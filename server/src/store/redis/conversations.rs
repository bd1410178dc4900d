//! Private conversations in Redis: who the members are (a hash beside the room's keys, written
//! by the post script with the first message) and each user's conversations, a sorted set by the
//! last message's time that the post script keeps, read a page at a time here for
//! `GET /api/conversations`.

use banter_protocol::http::ConversationSummary;

use super::keys::{self, Keys};
use super::reads::Reads;
use super::script;
use crate::store::StoreError;

/// The members of conversation `room`, once it holds a message.
pub fn members(reads: &Reads, room: &str) -> Result<Option<(String, String)>, StoreError> {
    let keys = Keys::new(room);
    let (a, b): (Option<String>, Option<String>) = reads.with(|c| {
        redis::cmd("HMGET")
            .arg(&keys.members)
            .arg("a")
            .arg("b")
            .query(c)
    })?;
    Ok(a.zip(b))
}

/// `user`'s `limit` most recent conversations with their head and last message's time: the page
/// is cut in Redis (`ZREVRANGE`), never after reading them all.
pub fn of_user(
    reads: &Reads,
    user: &str,
    limit: usize,
) -> Result<Vec<ConversationSummary>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    migrate_legacy(reads, user)?;
    let last = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
    let rooms: Vec<String> = reads.with(|c| {
        redis::cmd("ZREVRANGE")
            .arg(keys::conversations_of(user))
            .arg(0)
            .arg(last)
            .query(c)
    })?;
    summaries(reads, user, rooms)
}

/// Moves the unordered set of conversations that older versions kept into the sorted index, each
/// scored by its last message's time (never lowering a score a newer post wrote), then drops the
/// set. Once per user; idempotent if two nodes race.
fn migrate_legacy(reads: &Reads, user: &str) -> Result<(), StoreError> {
    let legacy = keys::legacy_conversations_of(user);
    let rooms: Vec<String> = reads.with(|c| redis::cmd("SMEMBERS").arg(&legacy).query(c))?;
    if rooms.is_empty() {
        return Ok(());
    }
    let found = summaries(reads, user, rooms)?;
    reads.with(|c| {
        let mut pipe = redis::pipe();
        for s in &found {
            pipe.cmd("ZADD")
                .arg(keys::conversations_of(user))
                .arg("GT")
                .arg(s.ts)
                .arg(&s.room)
                .ignore();
        }
        pipe.cmd("DEL").arg(&legacy).ignore();
        pipe.query::<()>(c)
    })
}

/// The summaries of `rooms`, `user`'s conversations (unsorted; rooms without members skipped).
fn summaries(
    reads: &Reads,
    user: &str,
    rooms: Vec<String>,
) -> Result<Vec<ConversationSummary>, StoreError> {
    if rooms.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        (Option<String>, Option<String>),
        Option<u64>,
        Vec<(String, Vec<(String, String)>)>,
    );
    let rows: Vec<Row> = reads.with(|c| {
        let mut pipe = redis::pipe();
        for room in &rooms {
            let k = Keys::new(room);
            pipe.cmd("HMGET").arg(&k.members).arg("a").arg("b");
            pipe.cmd("GET").arg(&k.seq);
            pipe.cmd("XREVRANGE")
                .arg(&k.stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1);
        }
        // Replies come three per room: regroup them.
        let flat: Vec<redis::Value> = pipe.query(c)?;
        let mut it = flat.into_iter();
        let mut rows = Vec::with_capacity(rooms.len());
        while let (Some(m), Some(h), Some(l)) = (it.next(), it.next(), it.next()) {
            rows.push((
                redis::from_redis_value(m)?,
                redis::from_redis_value(h)?,
                redis::from_redis_value(l)?,
            ));
        }
        Ok(rows)
    })?;
    Ok(rooms
        .into_iter()
        .zip(rows)
        .filter_map(|(room, ((a, b), head, last))| {
            let (a, b) = a.zip(b)?;
            let with = if a == user { b } else { a };
            let ts = last
                .first()
                .and_then(|(_, fields)| fields.first())
                .and_then(|(_, json)| script::decode(json).ok())
                .map_or(0, |m| m.ts());
            Some(ConversationSummary {
                room,
                with,
                head: head.unwrap_or(0),
                ts,
                members: Vec::new(),
            })
        })
        .collect())
}

/// Every conversation that holds a message (its members hash exists), by a `SCAN` of their
/// keys: the search indexer's catch-up at start.
pub fn every(reads: &Reads) -> Result<Vec<String>, StoreError> {
    let pattern = Keys::new(&format!("{}*", banter_protocol::CONVERSATION_PREFIX)).members;
    let mut out = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, found): (u64, Vec<String>) = reads.with(|c| {
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(c)
        })?;
        out.extend(found.into_iter().filter_map(|k| {
            let (_, rest) = k.split_once('{')?;
            Some(rest.split_once('}')?.0.to_owned())
        }));
        if next == 0 {
            return Ok(out);
        }
        cursor = next;
    }
}
