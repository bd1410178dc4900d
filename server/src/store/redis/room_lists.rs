//! Users' room lists in Redis: a sorted set per user (`banter:ul:NAME`, member = room, score =
//! when it was put there, ms) on the user's shard, beside their read positions. Reads and
//! writes are single commands on the shard's blocking connections (the server calls them off
//! the async workers).

use super::RedisStore;
use super::keys;
use crate::store::{RoomLists, StoreError, now_ms};

impl RoomLists for RedisStore {
    fn rooms_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let key = keys::room_list_of(user);
        self.shard_of(user)
            .reads
            .with(|c| redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).query(c))
    }

    fn set_room(&self, user: &str, room: &str, on: bool) -> Result<(), StoreError> {
        let key = keys::room_list_of(user);
        self.shard_of(user).reads.with(|c| {
            let mut cmd = match on {
                true => redis::cmd("ZADD"),
                false => redis::cmd("ZREM"),
            };
            if on {
                cmd.arg(&key).arg("NX").arg(now_ms()).arg(room);
            } else {
                cmd.arg(&key).arg(room);
            }
            cmd.query::<()>(c)
        })
    }
}
