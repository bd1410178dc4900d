//! Web Push's data in Redis ([`PushStore`]), and whether a user is connected anywhere.
//!
//! Keys: `banter:push:vapid` (the VAPID private key, set once with `SET NX` on the first shard,
//! so every node signs with the same key); on the user's shard, `banter:push:subs:NAME` (a hash:
//! endpoint → the subscription's JSON), `banter:push:nopreview` (a set of the users who turned
//! previews off) and `banter:push:muted:NAME` (a set of rooms).
//!
//! A user is connected somewhere when some node subscribes their notices' channel (see
//! `subscriber.rs`: a node subscribes it while the user has a connection there), so
//! [`online`] is one `PUBSUB NUMSUB` on the user's shard.

use banter_protocol::http::{PushSettings, PushSubscription};

use super::keys;
use super::reads::Reads;
use super::shards::RedisStore;
use crate::store::{PushStore, StoreError};

const VAPID: &str = "banter:push:vapid";
const NO_PREVIEW: &str = "banter:push:nopreview";

fn subs_of(user: &str) -> String {
    format!("banter:push:subs:{user}")
}

fn muted_of(user: &str) -> String {
    format!("banter:push:muted:{user}")
}

/// Stores a subscription unless the user has `max` others: KEYS = the hash; ARGV = endpoint,
/// JSON, max. Returns 1 when stored.
const SUBSCRIBE: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// Whether some node subscribes `name`'s channel: they have a connection there.
pub fn online(reads: &Reads, name: &str) -> Result<bool, StoreError> {
    let (_, count): (String, u64) = reads.with(|c| {
        redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(keys::user_channel(name))
            .query(c)
    })?;
    Ok(count > 0)
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::failed(format!("a stored push subscription cannot be read: {e}"))
}

impl PushStore for RedisStore {
    fn vapid_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.first().reads.with(|c| {
            redis::cmd("SET").arg(VAPID).arg(fresh).arg("NX").exec(c)?;
            redis::cmd("GET").arg(VAPID).query(c)
        })
    }

    fn subscribe(
        &self,
        user: &str,
        sub: &PushSubscription,
        max: usize,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(sub).map_err(corrupt)?;
        let stored: i64 = self.of(user).reads.with(|c| {
            redis::cmd("EVAL")
                .arg(SUBSCRIBE)
                .arg(1)
                .arg(subs_of(user))
                .arg(&sub.endpoint)
                .arg(&json)
                .arg(max)
                .query(c)
        })?;
        Ok(stored == 1)
    }

    fn unsubscribe(&self, user: &str, endpoint: &str) -> Result<bool, StoreError> {
        let gone: i64 = self
            .of(user)
            .reads
            .with(|c| redis::cmd("HDEL").arg(subs_of(user)).arg(endpoint).query(c))?;
        Ok(gone > 0)
    }

    fn subscriptions(&self, user: &str) -> Result<Vec<PushSubscription>, StoreError> {
        let all: Vec<String> = self
            .of(user)
            .reads
            .with(|c| redis::cmd("HVALS").arg(subs_of(user)).query(c))?;
        all.iter()
            .map(|j| serde_json::from_str(j).map_err(corrupt))
            .collect()
    }

    fn settings(&self, user: &str) -> Result<PushSettings, StoreError> {
        let (off, mut muted): (bool, Vec<String>) = self.of(user).reads.with(|c| {
            redis::pipe()
                .cmd("SISMEMBER")
                .arg(NO_PREVIEW)
                .arg(user)
                .cmd("SMEMBERS")
                .arg(muted_of(user))
                .query(c)
        })?;
        muted.sort();
        Ok(PushSettings {
            previews: !off,
            muted,
        })
    }

    fn set_previews(&self, user: &str, previews: bool) -> Result<(), StoreError> {
        let cmd = if previews { "SREM" } else { "SADD" };
        self.of(user)
            .reads
            .with(|c| redis::cmd(cmd).arg(NO_PREVIEW).arg(user).exec(c))
    }

    fn set_muted(&self, user: &str, room: &str, muted: bool) -> Result<(), StoreError> {
        let cmd = if muted { "SADD" } else { "SREM" };
        self.of(user)
            .reads
            .with(|c| redis::cmd(cmd).arg(muted_of(user)).arg(room).exec(c))
    }
}
