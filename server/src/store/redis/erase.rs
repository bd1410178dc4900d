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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use banter_protocol::ChangeKind;

use super::conn::Conn;
use crate::store::{AppendDone, NewMessage};

/// The key whose holder asked for the period's rewrite.
const LOCK: &str = "banter:aof-rewrite";
/// How often a dirty mark is looked at, at most.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The running task (none when the period is zero); stops when dropped.
pub struct AofRewrite {
    dirty: Arc<AtomicBool>,
    task: Option<tokio::task::AbortHandle>,
}

impl AofRewrite {
    /// Starts the task on `runtime` (unless `period` is zero); `node` is the lock's value.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        conn: Conn,
        period: Duration,
        node: Arc<str>,
    ) -> Self {
        let dirty = Arc::new(AtomicBool::new(false));
        let task = (!period.is_zero()).then(|| {
            runtime
                .spawn(run(conn, period, node, dirty.clone()))
                .abort_handle()
        });
        AofRewrite { dirty, task }
    }

    /// `done`, marking the shard dirty first when `msg` is a deletion that was stored.
    pub fn after(&self, msg: &NewMessage, done: AppendDone) -> AppendDone {
        let deletes = msg
            .change
            .as_ref()
            .is_some_and(|c| c.kind == ChangeKind::Delete);
        if !deletes || self.task.is_none() {
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
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

async fn run(mut conn: Conn, period: Duration, node: Arc<str>, dirty: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(LOOK_EVERY.min(period));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !dirty.swap(false, Ordering::Relaxed) {
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
    let mine: Option<String> = redis::cmd("SET")
        .arg(LOCK)
        .arg(node)
        .arg("NX")
        .arg("PX")
        .arg(period.as_millis().max(1) as u64)
        .query_async(conn)
        .await?;
    if mine.is_none() {
        return Ok(false);
    }
    redis::cmd("BGREWRITEAOF")
        .query_async::<redis::Value>(conn)
        .await?;
    Ok(true)
}
