//! A cluster-wide turn: of all the nodes sharing a Redis, one does a periodic chore (trimming by
//! age, asking for an AOF rewrite) per period, the one whose `SET NX PX` of the chore's key
//! lands first. The key expires with the period, so a node that died holding it delays the
//! chore by one period at most.

use std::time::Duration;

use super::conn::Conn;

/// Whether `node` holds `lock` for the next `period` (and so does the chore now).
pub(super) async fn claim(
    conn: &mut Conn,
    lock: &str,
    node: &str,
    period: Duration,
) -> redis::RedisResult<bool> {
    let mine: Option<String> = redis::cmd("SET")
        .arg(lock)
        .arg(node)
        .arg("NX")
        .arg("PX")
        .arg(period.as_millis().max(1) as u64)
        .query_async(conn)
        .await?;
    Ok(mine.is_some())
}
