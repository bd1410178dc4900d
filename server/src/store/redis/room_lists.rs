//! Users' room lists in Redis: a sorted set per user (`banter:ul:NAME`, member = room, score =
//! its place: one more than the last one's, given by a script, so two rooms put there in the
//! same millisecond keep their order) on the user's shard, beside their read positions. Reads
//! and writes are single commands on the shard's blocking connections (the server calls them
//! off the async workers).

use super::RedisStore;
use super::keys;
use crate::store::{RoomLists, StoreError};

/// Puts ARGV[1] at the end of the list KEYS[1] unless it is on it already.
const PUT: &str = "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end \
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES') \
local at = last[2] and tonumber(last[2]) + 1 or 0 \
redis.call('ZADD', KEYS[1], at, ARGV[1]) return 1";

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
            if on {
                redis::Script::new(PUT).key(&key).arg(room).invoke::<()>(c)
            } else {
                redis::cmd("ZREM").arg(&key).arg(room).query::<()>(c)
            }
        })
    }
}
