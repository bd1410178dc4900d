//! The Redis store's [`RoomMembers`]: on the room's shard, a hash per room
//! (`banter:r:{room}:access`: field `!` = `0`/`1` once the room was created public/private,
//! and `u:NAME` = the user's [`Standing`] as JSON), and per shard the set of private rooms
//! (`banter:private`) and, per user, the sets of the shard's rooms where they have a role
//! (`banter:um:NAME`) or are banned (`banter:ub:NAME`), so that what a user may not read is a few
//! set reads per shard. Each write is one `MULTI` on the room's shard. Reads and writes run on
//! the shard's blocking connections (moderation is rare).

use super::keys::Keys;
use super::reads::Reads;
use super::shards::RedisStore;
use crate::store::StoreError;
use crate::store::members::{RoomAccess, RoomMembers, Standing};

const PRIVATE: &str = "banter:private";

fn with_role(user: &str) -> String {
    format!("banter:um:{user}")
}

fn banned(user: &str) -> String {
    format!("banter:ub:{user}")
}

/// `room`'s access, from its shard.
pub fn access(reads: &Reads, room: &str) -> Result<RoomAccess, StoreError> {
    let all: Vec<(String, String)> =
        reads.with(|c| redis::cmd("HGETALL").arg(Keys::new(room).access()).query(c))?;
    let mut a = RoomAccess::default();
    for (field, value) in all {
        if field == "!" {
            a.created = true;
            a.private = value == "1";
        } else if let Some(user) = field.strip_prefix("u:") {
            let s: Standing = serde_json::from_str(&value).map_err(StoreError::failed)?;
            a.users.insert(user.to_owned(), s);
        }
    }
    Ok(a)
}

pub fn create(reads: &Reads, room: &str, private: bool) -> Result<bool, StoreError> {
    let key = Keys::new(room).access();
    let (made,): (bool,) = reads.with(|c| {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSETNX")
            .arg(&key)
            .arg("!")
            .arg(if private { "1" } else { "0" });
        if private {
            pipe.cmd("SADD").arg(PRIVATE).arg(room).ignore();
        }
        pipe.query(c)
    })?;
    if !made && private {
        // It existed already: the SADD above must not make a public room private.
        let was = access(reads, room)?;
        if !was.private {
            reads.with(|c| redis::cmd("SREM").arg(PRIVATE).arg(room).query::<()>(c))?;
        }
    }
    Ok(made)
}

pub fn set_private(reads: &Reads, room: &str, private: bool) -> Result<(), StoreError> {
    let key = Keys::new(room).access();
    reads.with(|c| {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg("!")
            .arg(if private { "1" } else { "0" })
            .ignore();
        let set = if private { "SADD" } else { "SREM" };
        pipe.cmd(set).arg(PRIVATE).arg(room).ignore();
        pipe.query::<()>(c)
    })
}

pub fn set_standing(reads: &Reads, room: &str, user: &str, s: Standing) -> Result<(), StoreError> {
    let key = Keys::new(room).access();
    let field = format!("u:{user}");
    let json = serde_json::to_string(&s).map_err(StoreError::failed)?;
    reads.with(|c| {
        let mut pipe = redis::pipe();
        pipe.atomic();
        if s.is_none() {
            pipe.cmd("HDEL").arg(&key).arg(&field).ignore();
        } else {
            pipe.cmd("HSET").arg(&key).arg(&field).arg(&json).ignore();
        }
        let (role, ban) = (with_role(user), banned(user));
        match s.role {
            Some(_) => pipe.cmd("SADD").arg(&role).arg(room).ignore(),
            None => pipe.cmd("SREM").arg(&role).arg(room).ignore(),
        };
        if s.banned {
            pipe.cmd("SADD").arg(&ban).arg(room).ignore();
        } else {
            pipe.cmd("SREM").arg(&ban).arg(room).ignore();
        }
        pipe.query::<()>(c)
    })
}

/// A shard's private rooms, a user's rooms with a role there, and those they are banned from.
type Sets = (Vec<String>, Vec<String>, Vec<String>);

/// This shard's [`Sets`] for `user`.
fn sets(reads: &Reads, user: &str) -> Result<Sets, StoreError> {
    reads.with(|c| {
        redis::pipe()
            .cmd("SMEMBERS")
            .arg(PRIVATE)
            .cmd("SMEMBERS")
            .arg(with_role(user))
            .cmd("SMEMBERS")
            .arg(banned(user))
            .query(c)
    })
}

impl RoomMembers for RedisStore {
    fn access(&self, room: &str) -> Result<RoomAccess, StoreError> {
        access(self.reads_of(room), room)
    }

    fn create(&self, room: &str, private: bool) -> Result<bool, StoreError> {
        create(self.reads_of(room), room, private)
    }

    fn set_private(&self, room: &str, private: bool) -> Result<(), StoreError> {
        set_private(self.reads_of(room), room, private)
    }

    fn set_standing(&self, room: &str, user: &str, s: Standing) -> Result<(), StoreError> {
        set_standing(self.reads_of(room), room, user, s)
    }

    fn hidden_from(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for reads in self.all_reads() {
            let (private, mine, ban) = sets(reads, user)?;
            out.extend(private.into_iter().filter(|r| !mine.contains(r)));
            out.extend(ban);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn private_rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for reads in self.all_reads() {
            let (private, mine, _) = sets(reads, user)?;
            out.extend(mine.into_iter().filter(|r| private.contains(r)));
        }
        out.sort();
        Ok(out)
    }
}
