//! Presence across nodes: who is in a room is the union over nodes, and a dead node's entries
//! go away by themselves.
//!
//! Each node has an id and a key `banter:node:<id>` that it refreshes every [`HEARTBEAT`] with a
//! TTL of [`NODE_TTL`]. A room's hash `…:present` holds a field `<node>\n<name>` for each name
//! present on each node; arrivals and departures also go out on the room's channel (payload
//! `p\n<node>\n1|0\n<name>`) so other nodes announce them at once. Every node re-reads the hash
//! of each room it has loaded every [`SWEEP`] (and after subscribing or reconnecting), keeps the
//! entries of live nodes and drops the rest: after `kill -9` of a node, its names are gone from
//! every other node within `NODE_TTL + SWEEP` (about 8 s). Updates never wait: the latest state
//! of each name in each room is kept until one task writes everything pending as one pipeline
//! (one round trip for a burst of arrivals); what failed (Redis away) is written after the next
//! heartbeat that succeeds. The sweep runs on its own thread ([`super::sweep`]), in pipelines
//! too, so it never holds up the pub/sub connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::conn::Conn;
use tokio::sync::Notify;

use super::keys::{self, Keys};

/// How often a node refreshes its key.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long a node's key lives without a refresh.
pub const NODE_TTL: Duration = Duration::from_secs(6);
/// How often a node re-reads the presence of its loaded rooms.
pub const SWEEP: Duration = Duration::from_secs(2);
/// Presence updates written in one pipeline at most.
const BATCH: usize = 512;

/// Who is present in `room` on any node: the names of its `…:present` hash (see the module
/// docs; a dead node's entries stay until a sweep drops them).
pub fn present(
    reads: &super::reads::Reads,
    room: &str,
) -> Result<Vec<String>, crate::store::StoreError> {
    let fields: Vec<String> =
        reads.with(|c| redis::cmd("HKEYS").arg(Keys::new(room).present).query(c))?;
    let mut names: Vec<String> = fields
        .iter()
        .filter_map(|f| f.split_once('\n').map(|(_, name)| name.to_owned()))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// A presence payload on a room channel: `(node, here, name)`.
pub fn parse(payload: &str) -> Option<(&str, bool, &str)> {
    let rest = payload.strip_prefix("p\n")?;
    let (node, rest) = rest.split_once('\n')?;
    let (flag, name) = rest.split_once('\n')?;
    Some((node, flag == "1", name))
}

/// The hash field of `name` on `node`.
pub fn field(node: &str, name: &str) -> String {
    format!("{node}\n{name}")
}

/// Updates not yet written: the latest state of each `(room, name)`. A later update replaces
/// an earlier one, so this holds at most one entry per name present in a loaded room here:
/// bounded by the connection and room limits, whatever the rate of arrivals and departures.
type Pending = HashMap<(String, String), bool>;

/// This node's side: see the module docs.
#[derive(Clone)]
pub struct Presence {
    pub node: Arc<str>,
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
}

impl Presence {
    pub fn start(runtime: &tokio::runtime::Handle, conn: Conn) -> Self {
        let node: Arc<str> = crate::store::new_epoch();
        let p = Presence {
            node,
            pending: Arc::default(),
            wake: Arc::new(Notify::new()),
        };
        runtime.spawn(run(p.clone(), conn));
        p
    }

    /// `name`'s first connection in `room` arrived here (`here`), or its last one left. Never
    /// waits: the update is written by the task, with every other one pending, in one pipeline.
    pub fn set(&self, room: &str, name: &str, here: bool) {
        self.lock().insert((room.to_owned(), name.to_owned()), here);
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts back what failed to be written, unless a newer update replaced it meanwhile.
    fn restore(&self, failed: Vec<((String, String), bool)>) {
        let mut pending = self.lock();
        for (k, v) in failed {
            pending.entry(k).or_insert(v);
        }
    }
}

/// Writes what is pending whenever something is (a pipeline per [`BATCH`]), and refreshes the
/// node's key every [`HEARTBEAT`]. After a failure (Redis away), pending updates wait for the
/// next heartbeat that succeeds.
async fn run(p: Presence, mut conn: Conn) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    let mut healthy = true;
    loop {
        tokio::select! {
            () = p.wake.notified(), if healthy => {}
            _ = beat.tick() => {
                let alive: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(keys::node(&p.node))
                    .arg(1)
                    .arg("PX")
                    .arg(NODE_TTL.as_millis() as u64)
                    .query_async(&mut conn)
                    .await;
                healthy = alive.is_ok();
            }
        }
        while healthy {
            let batch: Vec<_> = {
                let mut pending = p.lock();
                let keys: Vec<_> = pending.keys().take(BATCH).cloned().collect();
                keys.into_iter()
                    .filter_map(|k| pending.remove_entry(&k))
                    .collect()
            };
            if batch.is_empty() {
                break;
            }
            if write(&mut conn, &p.node, &batch).await.is_err() {
                p.restore(batch);
                healthy = false;
            }
        }
    }
}

/// Writes arrivals and departures, and announces them, in one round trip.
async fn write(
    conn: &mut Conn,
    node: &str,
    batch: &[((String, String), bool)],
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for ((room, name), here) in batch {
        let keys = Keys::new(room);
        if *here {
            pipe.cmd("HSET")
                .arg(&keys.present)
                .arg(field(node, name))
                .arg(1)
                .ignore();
        } else {
            pipe.cmd("HDEL")
                .arg(&keys.present)
                .arg(field(node, name))
                .ignore();
        }
        let flag = if *here { "1" } else { "0" };
        pipe.cmd("PUBLISH")
            .arg(&keys.channel)
            .arg(format!("p\n{node}\n{flag}\n{name}"))
            .ignore();
    }
    pipe.query_async(conn).await
}
