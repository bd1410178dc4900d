//! `--retain-age` with Redis: a periodic trim of every room's stream to the messages younger
//! than the age.
//!
//! A stream's entry ids are the `seq`s, not times, so Redis cannot trim by age by itself
//! (`XTRIM MINID` takes an id). The message's own `ts` (inside its JSON) is the time: the
//! [`TRIM`] script finds the first entry at or after the cutoff by binary search over the ids
//! (a `seq` range is one `XRANGE … COUNT 1`, O(log n)), reading each probed entry's `ts`, and
//! trims everything before it with `XTRIM MINID`: about 2·log₂(n) cheap lookups per room, no
//! index to keep, and the post script is untouched. The search assumes `ts` grows with `seq`,
//! which holds to within the nodes' clock skew (each node stamps `ts` just before the script
//! sequences it): a skewed node's messages may go up to that skew early or late.
//!
//! Every node runs the task, but one trims per period: the first to `SET banter:trim-age NX PX
//! period`. A period is a quarter of the age, between [`MIN_EVERY`] and [`MAX_EVERY`], so a
//! message outlives the age by at most that. The streams, of rooms and of private conversations
//! alike, are found with `SCAN … TYPE stream` (incremental: Redis is never blocked for long),
//! one pipeline of scripts per step. A failure (Redis away) is logged and the next period tries
//! again. The task stops when the store is dropped.

use std::sync::Arc;
use std::time::Duration;

use super::conn::Conn;
use redis::Script;

use crate::store::now_ms;

/// Shortest and longest pause between two trims.
pub const MIN_EVERY: Duration = Duration::from_millis(250);
pub const MAX_EVERY: Duration = Duration::from_secs(60);
/// The message streams of rooms (`banter:r:`) and of private conversations (`banter:c:`).
const STREAMS: &str = "banter:?:{*}:log";
/// Keys looked at per `SCAN` step (one pipeline of scripts for the streams among them).
const SCAN_COUNT: usize = 1000;
/// The key whose holder trims this period.
const LOCK: &str = "banter:trim-age";

/// KEYS: the room's stream. ARGV: the cutoff (ms since the Unix epoch). Trims the entries
/// before the first one whose `ts` is at or after the cutoff; returns how many were trimmed.
/// `"ts":` can only be the field itself: inside a JSON string a `"` is escaped.
const TRIM: &str = r#"
local function ts(e) return tonumber(string.match(e[2][2], '"ts":(%d+)')) or 0 end
local function seq(e) return tonumber(string.match(e[1], '^%d+')) end
local cutoff = tonumber(ARGV[1])
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not first or ts(first) >= cutoff then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
local lo, hi = seq(first) + 1, seq(last) + 1
if ts(last) >= cutoff then hi = seq(last) end
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  local e = redis.call('XRANGE', KEYS[1], mid .. '-0', '+', 'COUNT', 1)[1]
  if not e or ts(e) >= cutoff then hi = mid else lo = seq(e) + 1 end
end
return redis.call('XTRIM', KEYS[1], 'MINID', lo .. '-0')
"#;

/// How often rooms are trimmed for `age`.
pub fn every(age: Duration) -> Duration {
    (age / 4).clamp(MIN_EVERY, MAX_EVERY)
}

/// The running trim; stops when dropped.
pub struct AgeTrim {
    task: tokio::task::AbortHandle,
}

impl AgeTrim {
    /// Starts the task on `runtime`; `node` is this node's id (the lock's value).
    pub fn start(
        runtime: &tokio::runtime::Handle,
        conn: Conn,
        age: Duration,
        node: Arc<str>,
    ) -> Self {
        let task = runtime.spawn(run(conn, age, node)).abort_handle();
        AgeTrim { task }
    }
}

impl Drop for AgeTrim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(mut conn: Conn, age: Duration, node: Arc<str>) {
    let period = every(age);
    let script = Script::new(TRIM);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cutoff = now_ms().saturating_sub(age.as_millis() as u64);
        match trim_all(&mut conn, &script, period, &node, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(trimmed = n, "messages older than --retain-age trimmed"),
            Err(e) => tracing::warn!(error = %e, "trimming by --retain-age failed; will retry"),
        }
    }
}

/// Trims every room if this node holds the period's lock; how many messages went.
async fn trim_all(
    conn: &mut Conn,
    script: &Script,
    period: Duration,
    node: &str,
    cutoff: u64,
) -> redis::RedisResult<u64> {
    if !super::period::claim(conn, LOCK, node, period).await? {
        return Ok(0);
    }
    let mut trimmed = 0;
    let mut cursor = 0u64;
    loop {
        let (next, streams): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(STREAMS)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .arg("TYPE")
            .arg("stream")
            .query_async(conn)
            .await?;
        if !streams.is_empty() {
            let mut pipe = redis::pipe();
            for stream in &streams {
                pipe.cmd("EVALSHA")
                    .arg(script.get_hash())
                    .arg(1)
                    .arg(stream)
                    .arg(cutoff);
            }
            let counts: Vec<u64> = load_and_query(conn, script, &pipe).await?;
            trimmed += counts.iter().sum::<u64>();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    Ok(trimmed)
}

/// Runs `pipe` of EVALSHA calls, loading the script first if Redis does not have it.
async fn load_and_query(
    conn: &mut Conn,
    script: &Script,
    pipe: &redis::Pipeline,
) -> redis::RedisResult<Vec<u64>> {
    match pipe.query_async(conn).await {
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            script.load_async(conn).await?;
            pipe.query_async(conn).await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_follows_the_age_within_bounds() {
        assert_eq!(every(Duration::from_secs(2)), Duration::from_millis(500));
        assert_eq!(every(Duration::from_millis(100)), MIN_EVERY);
        assert_eq!(every(Duration::from_secs(90 * 86_400)), MAX_EVERY);
    }
}
