//! The cluster's commit stream, for the search index of every node: the post script appends
//! each stored message's room to [`COMMITS`] (a stream capped near [`COMMITS_KEPT`] entries),
//! and a thread per shard on every node follows it (`XREAD BLOCK`) and tells the search indexer
//! which room changed ([`crate::store::Bus::follow_commits`]). The indexer then reads the room's
//! new entries from the room's own stream: the commit stream carries names, not messages.
//!
//! When the thread may have missed entries (its first connection, the stream trimmed past where
//! it was, or a Redis whose stream went back: a restart without the data), it says
//! [`COMMITS_LOST`]: the indexer looks at every room, as at start.

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::Connection;

use super::reads::{Reads, TIMEOUT};
use crate::store::{COMMITS_LOST, CommitHook, StoreError};

/// The stream of committed rooms (field `r`: the room).
pub const COMMITS: &str = "banter:commits";
/// How long one `XREAD` waits for new entries.
const BLOCK: Duration = Duration::from_secs(1);
/// Entries one `XREAD` takes at most.
const COUNT: usize = 1000;
/// Longest pause between reconnect attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A stream entry id, comparable.
type Id = (u64, u64);

fn parse_id(s: &str) -> Id {
    let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Starts following this shard's commit stream; the thread ends when the shard is dropped.
pub fn follow(reads: &Arc<Reads>, hook: CommitHook) -> Result<(), StoreError> {
    let reads = Arc::downgrade(reads);
    std::thread::Builder::new()
        .name("banter-commits".into())
        .spawn(move || run(reads, hook))
        .map(|_| ())
        .map_err(StoreError::failed)
}

fn run(reads: Weak<Reads>, hook: CommitHook) {
    let mut last: Option<Id> = None;
    let mut pause = Duration::from_millis(50);
    loop {
        let conn = match reads.upgrade() {
            None => return,
            Some(r) => r.connect(),
        };
        match conn.and_then(|c| session(c, &reads, &mut last, &hook)) {
            Ok(()) => return,
            Err(e) => {
                tracing::debug!(error = %e, "commit stream: reconnecting");
                std::thread::sleep(pause);
                pause = (pause * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// One connection's life: checks for a gap, then reads on. `Ok` once the shard is gone.
fn session(
    mut conn: Connection,
    reads: &Weak<Reads>,
    last: &mut Option<Id>,
    hook: &CommitHook,
) -> Result<(), StoreError> {
    let unavailable = super::reads::unavailable;
    conn.set_read_timeout(Some(BLOCK + TIMEOUT))
        .map_err(unavailable)?;
    let (first, top) = (
        edge(&mut conn, true).map_err(unavailable)?,
        edge(&mut conn, false).map_err(unavailable)?,
    );
    let lost = match *last {
        None => true,
        Some(l) => {
            top.is_some_and(|t| t < l)
                || top.is_none() && l > (0, 0)
                || first.is_some_and(|f| f > l)
        }
    };
    if lost {
        *last = Some(top.unwrap_or((0, 0)));
        hook(&Arc::from(COMMITS_LOST));
    }
    loop {
        if reads.strong_count() == 0 {
            return Ok(());
        }
        let (ms, seq) = last.unwrap_or((0, 0));
        type Reply = Option<Vec<(String, Vec<(String, Vec<String>)>)>>;
        let reply: Reply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(COUNT)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(COMMITS)
            .arg(format!("{ms}-{seq}"))
            .query(&mut conn)
            .map_err(unavailable)?;
        for (_, entries) in reply.unwrap_or_default() {
            for (id, fields) in entries {
                *last = Some(parse_id(&id));
                if let [_, room, ..] = &fields[..] {
                    hook(&Arc::from(room.as_str()));
                }
            }
        }
    }
}

/// The stream's first (`first`) or newest entry's id.
fn edge(conn: &mut Connection, first: bool) -> redis::RedisResult<Option<Id>> {
    let (cmd, a, b) = if first {
        ("XRANGE", "-", "+")
    } else {
        ("XREVRANGE", "+", "-")
    };
    let got: Vec<(String, Vec<String>)> = redis::cmd(cmd)
        .arg(COMMITS)
        .arg(a)
        .arg(b)
        .arg("COUNT")
        .arg(1)
        .query(conn)?;
    Ok(got.first().map(|(id, _)| parse_id(id)))
}
