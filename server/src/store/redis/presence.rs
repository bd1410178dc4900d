//! Presence across nodes: who is in a room is the union over nodes, and a dead node's entries
//! go away by themselves.
//!
//! Each node has an id and a key `banter:node:<id>` that it refreshes every [`HEARTBEAT`] with a
//! TTL of [`NODE_TTL`]. A room's hash `…:present` holds a field `<node>\n<name>` for each name
//! present on each node; arrivals and departures also go out on the room's channel (payload
//! `p\n<node>\n1|0\n<name>`) so other nodes announce them at once. Every node re-reads the hash
//! of each room it has loaded every [`SWEEP`] (and after subscribing or reconnecting), keeps the
//! entries of live nodes and drops the rest: after `kill -9` of a node, its names are gone from
//! every other node within `NODE_TTL + SWEEP` (about 8 s). Updates go out in order on one task;
//! updates that failed (Redis away) are retried, in order, after the next heartbeat.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use super::keys::{self, Keys};

/// How often a node refreshes its key.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// How long a node's key lives without a refresh.
pub const NODE_TTL: Duration = Duration::from_secs(6);
/// How often a node re-reads the presence of its loaded rooms.
pub const SWEEP: Duration = Duration::from_secs(2);

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

/// This node's side: see the module docs.
#[derive(Clone)]
pub struct Presence {
    pub node: Arc<str>,
    tx: mpsc::UnboundedSender<(String, String, bool)>,
}

impl Presence {
    pub fn start(runtime: &tokio::runtime::Handle, conn: ConnectionManager) -> Self {
        let node: Arc<str> = crate::store::new_epoch();
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(run(node.clone(), conn, rx));
        Presence { node, tx }
    }

    /// `name`'s first connection in `room` arrived here (`here`), or its last one left.
    pub fn set(&self, room: &str, name: &str, here: bool) {
        let _ = self.tx.send((room.to_owned(), name.to_owned(), here));
    }
}

/// Presence updates kept to retry while Redis is away at most (the oldest are dropped: their
/// entries then last until the node restarts or the names come and go again).
const RETRY_MAX: usize = 10_000;

async fn run(
    node: Arc<str>,
    mut conn: ConnectionManager,
    mut rx: mpsc::UnboundedReceiver<(String, String, bool)>,
) {
    let mut retry: VecDeque<(String, String, bool)> = VecDeque::new();
    let mut beat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            op = rx.recv() => {
                let Some(op) = op else { return };
                if !retry.is_empty() || update(&mut conn, &node, &op).await.is_err() {
                    if retry.len() >= RETRY_MAX {
                        retry.pop_front();
                    }
                    retry.push_back(op);
                }
            }
            _ = beat.tick() => {
                let alive: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(keys::node(&node))
                    .arg(1)
                    .arg("PX")
                    .arg(NODE_TTL.as_millis() as u64)
                    .query_async(&mut conn)
                    .await;
                while alive.is_ok() && let Some(op) = retry.front() {
                    if update(&mut conn, &node, op).await.is_err() {
                        break;
                    }
                    retry.pop_front();
                }
            }
        }
    }
}

/// Writes one arrival or departure, in order.
async fn update(
    conn: &mut ConnectionManager,
    node: &str,
    (room, name, here): &(String, String, bool),
) -> redis::RedisResult<()> {
    let keys = Keys::new(room);
    let mut pipe = redis::pipe();
    if *here {
        pipe.cmd("HSET")
            .arg(&keys.present)
            .arg(field(node, name))
            .arg(1);
    } else {
        pipe.cmd("HDEL").arg(&keys.present).arg(field(node, name));
    }
    let flag = if *here { "1" } else { "0" };
    pipe.cmd("PUBLISH")
        .arg(&keys.channel)
        .arg(format!("p\n{node}\n{flag}\n{name}"));
    pipe.query_async(conn).await
}
