//! Reads from Redis on blocking connections: a room's meta, a range of its stream, the room
//! list. Like the SQLite store's readers, they run on the caller's thread (a thread of tokio's
//! blocking pool: the server calls them through `store::Store`), on a small pool of connections
//! with short timeouts, so an unreachable Redis fails a read in about a second instead of
//! hanging a join. Each new connection goes to the Redis the shard's [`Endpoint`] names now
//! (the current master, with Sentinels).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::store::Entry;
use redis::{Connection, Script};

use super::keys::Keys;
use super::life::{self, Durable};
use super::script::{self, MAX_BOUND};
use super::sentinel::Endpoint;
use crate::store::{Range, RoomMeta, StoreError};

/// Connections kept open between reads.
const POOL: usize = 4;
/// How long connecting, and then each reply, may take.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// See the module docs.
pub struct Reads {
    endpoint: Endpoint,
    pool: Mutex<Vec<Connection>>,
    script: Script,
}

impl Reads {
    pub fn new(endpoint: Endpoint) -> Self {
        Reads {
            endpoint,
            pool: Mutex::new(Vec::new()),
            script: script::read(),
        }
    }

    /// A new blocking connection with the read timeouts set.
    pub fn connect(&self) -> Result<Connection, StoreError> {
        let conn = self.endpoint.connect(TIMEOUT).map_err(unavailable)?;
        conn.set_read_timeout(Some(TIMEOUT)).map_err(unavailable)?;
        conn.set_write_timeout(Some(TIMEOUT)).map_err(unavailable)?;
        Ok(conn)
    }

    /// Runs `f` on a pooled connection; a connection that failed is dropped, not pooled. A
    /// pooled connection may have died with a Redis restart: `f` is then run once more on a
    /// new one (every read here may run twice).
    pub(super) fn with<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let (conn, out) = match pooled {
            Some(mut c) => match f(&mut c) {
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                    let mut fresh = self.connect()?;
                    let out = f(&mut fresh);
                    (fresh, out)
                }
                out => (c, out),
            },
            None => {
                let mut c = self.connect()?;
                let out = f(&mut c);
                (c, out)
            }
        };
        let out = out.map_err(unavailable)?;
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < POOL {
            pool.push(conn);
        }
        Ok(out)
    }

    /// The room's meta and, for a range, up to `limit` messages of it, ascending.
    pub fn read(
        &self,
        room: &str,
        range: Option<Range>,
        limit: usize,
    ) -> Result<(Vec<Entry>, RoomMeta), StoreError> {
        let keys = Keys::new(room);
        let (mode, bound) = match range {
            None => ("meta", 0),
            Some(Range::After(since)) => ("after", since),
            Some(Range::Before(before)) => ("before", before),
        };
        let reply: Vec<String> = self.with(|c| {
            self.script
                .key(&keys.seq)
                .key(&keys.epoch)
                .key(&keys.stream)
                .key(life::LIFE)
                .key(&keys.fold)
                .arg(mode)
                .arg(bound.min(MAX_BOUND))
                .arg(limit.min(MAX_BOUND as usize))
                .arg(room)
                .invoke(c)
        })?;
        parse_read(reply, matches!(range, Some(Range::Before(_))))
    }

    /// Up to `limit` rooms that hold messages, by name, with their head.
    pub fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let names: Vec<String> = redis::cmd("ZRANGE")
                .arg(super::keys::ROOMS)
                .arg(0)
                .arg(limit.min(i64::MAX as usize) as i64 - 1)
                .query(c)?;
            if names.is_empty() {
                return Ok(Vec::new());
            }
            let mut mget = redis::cmd("MGET");
            for n in &names {
                mget.arg(Keys::new(n).seq);
            }
            let heads: Vec<Option<u64>> = mget.query(c)?;
            Ok(names
                .into_iter()
                .zip(heads)
                .filter_map(|(n, h)| h.filter(|h| *h > 0).map(|h| (n, h)))
                .collect())
        })
    }

    /// Whether each key exists.
    pub fn exist(&self, keys: &[String]) -> Result<Vec<bool>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let mut pipe = redis::pipe();
            for k in keys {
                pipe.cmd("EXISTS").arg(k);
            }
            pipe.query(c)
        })
    }

    /// Records the current life of Redis's data (see [`life`]); a write only when it changed.
    pub fn refresh(&self, durable: &Durable) -> Result<(), StoreError> {
        self.with(|c| life::refresh(durable).query::<String>(c))
            .map(drop)
    }

    /// Whether Redis says it writes every answered write to disk first (`None`: it does not
    /// say, e.g. `CONFIG` is disabled).
    pub fn durable(&self) -> Option<bool> {
        self.with(|c| life::config_get().query::<Vec<String>>(c))
            .ok()
            .map(|pairs| life::is_durable(&pairs))
    }
}

fn parse_read(reply: Vec<String>, descending: bool) -> Result<(Vec<Entry>, RoomMeta), StoreError> {
    let mut it = reply.into_iter();
    let (Some(epoch), Some(head), Some(oldest)) = (it.next(), it.next(), it.next()) else {
        return Err(StoreError::failed("short reply from the read script"));
    };
    let number = |s: &str| s.parse::<u64>().map_err(StoreError::failed);
    let meta = RoomMeta {
        epoch: epoch.into(),
        head: number(&head)?,
        oldest: number(&oldest)?,
    };
    let mut msgs = it
        .map(|json| script::decode(&json))
        .collect::<Result<Vec<_>, _>>()?;
    if descending {
        msgs.reverse();
    }
    Ok((msgs, meta))
}

/// A Redis failure as the hub sees it (the details go to the log).
pub fn unavailable(e: redis::RedisError) -> StoreError {
    tracing::warn!(error = %e, "redis request failed");
    StoreError::Failed(Arc::from("redis is unavailable"))
}
