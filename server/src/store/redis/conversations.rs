//! Private conversations in Redis: who the members are (a hash beside the room's keys, written
//! by the post script with the first message) and each user's set of conversations, read here
//! for `GET /api/conversations`.

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

/// `user`'s conversations with their head and last message's time (unsorted).
pub fn of_user(reads: &Reads, user: &str) -> Result<Vec<ConversationSummary>, StoreError> {
    let rooms: Vec<String> = reads.with(|c| {
        redis::cmd("SMEMBERS")
            .arg(keys::conversations_of(user))
            .query(c)
    })?;
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
                .map_or(0, |m| m.ts);
            Some(ConversationSummary {
                room,
                with,
                head: head.unwrap_or(0),
                ts,
            })
        })
        .collect())
}
