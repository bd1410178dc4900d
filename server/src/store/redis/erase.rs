//! After a deletion, the erased bytes leave Redis's append-only file too.
//!
//! The post script erases a deleted message in Redis's data at once (it rewrites the room's
//! stream and fold: see `lifecycle.lua`), so an RDB snapshot written afterwards holds no trace.
//! The AOF, though, keeps the commands that wrote the text until Redis rewrites it. So once a
//! deletion is stored, this node marks the shard dirty, and a task asks for `BGREWRITEAOF`
//! (`--redis-aof-rewrite-after-delete`, at most once per that period across the cluster: the
//! node that takes `SET banter:aof-rewrite NX PX period` asks). A node that finds the lock
//! taken keeps its mark and tries again once it expires (the rewrite it saw may have started
//! before its deletion), so the bytes leave the AOF within about two periods plus the rewrite's
//! own time. A Redis without AOF (`appendonly no`) is not asked; a refused rewrite (one already
//! running) is asked again later.
//!
//! The same task reads how many entries a stream node of this Redis holds at most
//! (`stream-node-max-entries`, every [`BOUND_EVERY`]) and checks once that it may set a stream's
//! last id back (`XSETID`): with both, the script erases a deletion by rewriting the stream from
//! just before the target's node only ([`AofRewrite::bound`]); otherwise it copies the whole
//! stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use banter_protocol::ChangeKind;

use super::conn::Conn;
use crate::store::{AppendDone, NewMessage};

/// The key whose holder asked for the period's rewrite.
const LOCK: &str = "banter:aof-rewrite";
/// How often a dirty mark is looked at, at most.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often the stream node bound is read again.
const BOUND_EVERY: Duration = Duration::from_secs(30);
/// Redis's default `stream-node-max-entries`: the bound is never taken below it, nor below the
/// largest setting this node saw, so that lowering the setting at run time (old nodes keep
/// their size) does not under-erase. A setting lowered before the node started is not known:
/// lower it only on an empty Redis.
const DEFAULT_NODE_ENTRIES: u64 = 100;
/// A scratch key for the `XSETID` check (this node's id appended).
const PROBE: &str = "banter:xsetid-probe:";

/// The running task; stops when dropped.
pub struct AofRewrite {
    dirty: Arc<AtomicBool>,
    bound: Arc<AtomicU64>,
    rewrites: bool,
    task: tokio::task::AbortHandle,
}

impl AofRewrite {
    /// Starts the task on `runtime` (it asks for no rewrite when `period` is zero); `node` is
    /// the lock's value.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        conn: Conn,
        period: Duration,
        node: Arc<str>,
    ) -> Self {
        let dirty = Arc::new(AtomicBool::new(false));
        let bound = Arc::new(AtomicU64::new(0));
        let state = (dirty.clone(), bound.clone());
        let task = runtime.spawn(run(conn, period, node, state)).abort_handle();
        AofRewrite {
            dirty,
            bound,
            rewrites: !period.is_zero(),
            task,
        }
    }

    /// The most entries a stream node holds, as the post script takes it (0: unknown, or
    /// `XSETID` cannot set a stream back: the script copies the whole stream).
    pub fn bound(&self) -> u64 {
        self.bound.load(Ordering::Relaxed)
    }

    /// `done`, marking the shard dirty first when `msg` is a deletion that was stored.
    pub fn after(&self, msg: &NewMessage, done: AppendDone) -> AppendDone {
        let deletes = msg
            .change
            .as_ref()
            .is_some_and(|c| c.kind == ChangeKind::Delete);
        if !deletes || !self.rewrites {
            return done;
        }
        let dirty = self.dirty.clone();
        Box::new(move |result| {
            if result.as_ref().is_ok_and(|a| !a.duplicate && !a.noop) {
                dirty.store(true, Ordering::Relaxed);
            }
            done(result)
        })
    }
}

impl Drop for AofRewrite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    mut conn: Conn,
    period: Duration,
    node: Arc<str>,
    (dirty, bound): (Arc<AtomicBool>, Arc<AtomicU64>),
) {
    let look = if period.is_zero() {
        LOOK_EVERY
    } else {
        LOOK_EVERY.min(period)
    };
    let mut tick = tokio::time::interval(look);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut xsetid = None;
    let mut since_bound = BOUND_EVERY;
    // The largest setting seen: nodes made under a larger one keep their size.
    let mut largest = DEFAULT_NODE_ENTRIES;
    loop {
        tick.tick().await;
        if since_bound >= BOUND_EVERY {
            if xsetid.is_none() {
                xsetid = probe_xsetid(&mut conn, &node).await;
            }
            let b = match node_entries(&mut conn).await {
                0 => 0,
                n => {
                    largest = largest.max(n);
                    largest
                }
            };
            bound.store(if xsetid == Some(true) { b } else { 0 }, Ordering::Relaxed);
            since_bound = Duration::ZERO;
        }
        since_bound += look;
        if period.is_zero() || !dirty.swap(false, Ordering::Relaxed) {
            continue;
        }
        match rewrite(&mut conn, period, &node).await {
            Ok(true) => tracing::debug!("asked Redis to rewrite its AOF after a deletion"),
            Ok(false) => dirty.store(true, Ordering::Relaxed),
            Err(e) => {
                tracing::debug!(error = %e, "BGREWRITEAOF after a deletion refused; will retry");
                dirty.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Asks for the rewrite if this node holds the period's lock and Redis keeps an AOF; whether
/// the mark is done with (false: try again later).
async fn rewrite(conn: &mut Conn, period: Duration, node: &str) -> redis::RedisResult<bool> {
    let aof: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query_async(conn)
        .await
        .unwrap_or_default();
    if aof.get(1).is_some_and(|v| v == "no") {
        return Ok(true);
    }
    if !super::period::claim(conn, LOCK, node, period).await? {
        return Ok(false);
    }
    redis::cmd("BGREWRITEAOF")
        .query_async::<redis::Value>(conn)
        .await?;
    Ok(true)
}

/// This Redis's `stream-node-max-entries`, at least [`DEFAULT_NODE_ENTRIES`]; 0 when it does
/// not say or the setting is 0 (no entry limit: a node is bounded by bytes alone).
async fn node_entries(conn: &mut Conn) -> u64 {
    let pairs: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("stream-node-max-entries")
        .query_async(conn)
        .await
        .unwrap_or_default();
    match pairs.get(1).and_then(|v| v.parse::<u64>().ok()) {
        Some(0) | None => 0,
        Some(n) => n.max(DEFAULT_NODE_ENTRIES),
    }
}

/// Whether this Redis lets `XSETID` set a stream's last id back below entries deleted from its
/// end (Redis 7.0 does), tried on a scratch key; `None` when Redis did not answer.
async fn probe_xsetid(conn: &mut Conn, node: &str) -> Option<bool> {
    let key = format!("{PROBE}{node}");
    let mut pipe = redis::pipe();
    pipe.cmd("DEL").arg(&key).ignore();
    pipe.cmd("XADD")
        .arg(&key)
        .arg("1-0")
        .arg("m")
        .arg("")
        .ignore();
    pipe.cmd("XADD")
        .arg(&key)
        .arg("2-0")
        .arg("m")
        .arg("")
        .ignore();
    pipe.cmd("XDEL").arg(&key).arg("2-0").ignore();
    let ready: redis::RedisResult<()> = pipe.query_async(conn).await;
    ready.ok()?;
    let back: redis::RedisResult<()> = redis::cmd("XSETID")
        .arg(&key)
        .arg("1-0")
        .query_async(conn)
        .await;
    let again: redis::RedisResult<String> = redis::cmd("XADD")
        .arg(&key)
        .arg("2-0")
        .arg("m")
        .arg("")
        .query_async(conn)
        .await;
    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&key).query_async(conn).await;
    Some(back.is_ok() && again.is_ok())
}
