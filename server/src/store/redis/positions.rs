//! Read positions in Redis: a hash per user (`banter:rp:NAME`, field = room, value = `seq`) on
//! the user's shard, beside the channel of their notices. A save is one script per position
//! that keeps the higher `seq` and, when it moved, publishes `SEQ \n ROOM` on the user's
//! channel, atomically: a node that subscribes to the channel and then reads the hash misses no
//! move. (A notice of a direct message there has three lines, so no node takes one for the
//! other.) Saves run on their own task, a pipeline per batch, off the posting path.

use tokio::sync::mpsc;

use super::conn::Conn;
use super::keys;
use super::reads::Reads;
use crate::store::{Position, PositionsDone, StoreError};

/// Batches waiting for Redis at most; more are refused as busy (the hub keeps them).
const QUEUE: usize = 64;

/// Keeps the higher `seq` and publishes a move: KEYS = the hash, the user's channel;
/// ARGV = room, seq.
const SAVE: &str = r"
local seq = tonumber(ARGV[2])
local at = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if seq > at then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PUBLISH', KEYS[2], ARGV[2] .. '\n' .. ARGV[1])
end
return 0
";

/// See the module docs.
pub struct PositionWriter {
    tx: mpsc::Sender<(Vec<Position>, PositionsDone)>,
}

impl PositionWriter {
    pub fn start(runtime: &tokio::runtime::Handle, conn: Conn) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        runtime.spawn(run(rx, conn));
        PositionWriter { tx }
    }

    /// Queues `batch`; never waits.
    pub fn save(&self, batch: Vec<Position>, done: PositionsDone) {
        if let Err(e) = self.tx.try_send((batch, done)) {
            let (_, done) = match e {
                mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => {
                    job
                }
            };
            done(Err(StoreError::Busy));
        }
    }
}

async fn run(mut rx: mpsc::Receiver<(Vec<Position>, PositionsDone)>, mut conn: Conn) {
    while let Some((batch, done)) = rx.recv().await {
        let mut pipe = redis::pipe();
        for p in &batch {
            pipe.cmd("EVAL")
                .arg(SAVE)
                .arg(2)
                .arg(keys::positions_of(&p.user))
                .arg(keys::user_channel(&p.user))
                .arg(&p.room)
                .arg(p.seq)
                .ignore();
        }
        let saved: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        done(saved.map_err(super::reads::unavailable));
    }
}

/// `user`'s positions on this shard.
pub fn load(reads: &Reads, user: &str) -> Result<Vec<(String, u64)>, StoreError> {
    reads.with(|c| redis::cmd("HGETALL").arg(keys::positions_of(user)).query(c))
}

/// A move published by [`SAVE`]: `(room, seq)`.
pub fn parse(payload: &str) -> Option<(&str, u64)> {
    let (seq, room) = payload.split_once('\n')?;
    if room.contains('\n') {
        return None;
    }
    Some((room, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_move_is_two_lines_and_a_notice_is_not_one() {
        assert_eq!(super::parse("12\nlobby"), Some(("lobby", 12)));
        assert_eq!(super::parse("node\nlobby\n{}"), None);
        assert_eq!(super::parse("x\nlobby"), None);
    }
}
