//! The async connection a shard's tasks share (the publisher's lanes, presence, notices, the
//! check of Redis's persistence, retention): cheap to clone, one multiplexed connection under
//! it, back by itself after a failure.
//!
//! For a `redis://` URL it is redis-rs's connection manager, which reconnects to that address.
//! For Sentinels ([`super::sentinel`]) the address itself changes with a failover, so [`Conn`]
//! keeps the connection it made to the master the Sentinels named, drops it when it breaks
//! (an I/O error, a timeout) or answers `READONLY` (demoted to a replica), and the next request
//! asks the Sentinels again. Reconnects are made one at a time, and after a failed one the
//! requests of the next [`RETRY_MIN`]..[`RETRY_MAX`] fail at once (`unavailable`, as with the
//! manager while it reconnects) instead of each asking the Sentinels.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult,
    ServerErrorKind, Value,
};

use super::reads::TIMEOUT;
use super::sentinel::{Endpoint, Sentinels};

/// The first pause after a failed reconnect to a Sentinel-named master.
const RETRY_MIN: Duration = Duration::from_millis(50);
/// The longest.
const RETRY_MAX: Duration = Duration::from_millis(500);

/// See the module docs.
#[derive(Clone)]
pub enum Conn {
    Fixed(ConnectionManager),
    Following(Arc<Following>),
}

impl Conn {
    /// A connection to `endpoint`, made on first use (call within a tokio runtime).
    pub fn new(endpoint: &Endpoint) -> RedisResult<Conn> {
        match endpoint {
            Endpoint::Fixed(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT * 2))
                    .set_number_of_retries(2)
                    .set_max_delay(RETRY_MAX);
                let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
                Ok(Conn::Fixed(manager))
            }
            Endpoint::Sentinel(s) => Ok(Conn::Following(Arc::new(Following {
                sentinels: s.clone(),
                config: AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT * 2)),
                current: Mutex::new(None),
                gate: tokio::sync::Mutex::new(Gate::default()),
            }))),
        }
    }
}

/// The connection to the master the Sentinels name, made again when it fails.
pub struct Following {
    sentinels: Arc<Sentinels>,
    config: AsyncConnectionConfig,
    /// The live connection and its number (so that a late failure of an old one does not
    /// drop its successor).
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// Held while connecting: reconnects one at a time (an async gate, no data behind it is
    /// read while it is held).
    gate: tokio::sync::Mutex<Gate>,
}

#[derive(Default)]
struct Gate {
    made: u64,
    /// After a failed attempt: no new one before this.
    retry_at: Option<Instant>,
    pause: Duration,
}

impl Following {
    fn live(&self) -> Option<(u64, MultiplexedConnection)> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The live connection, or a new one to the master the Sentinels name now.
    async fn get(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(c) = self.live() {
            return Ok(c);
        }
        let mut gate = self.gate.lock().await;
        if let Some(c) = self.live() {
            return Ok(c); // made while this one waited
        }
        if gate.retry_at.is_some_and(|at| Instant::now() < at) {
            return Err(RedisError::from((
                ErrorKind::Io,
                "reconnecting to the master the Sentinels name",
            )));
        }
        match self.sentinels.connect_async(&self.config).await {
            Ok(conn) => {
                gate.made += 1;
                gate.retry_at = None;
                gate.pause = Duration::ZERO;
                let live = (gate.made, conn);
                *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(live.clone());
                tracing::info!(master = %self.sentinels, "connected to the Redis master");
                Ok(live)
            }
            Err(e) => {
                gate.pause = (gate.pause * 2).clamp(RETRY_MIN, RETRY_MAX);
                gate.retry_at = Some(Instant::now() + gate.pause);
                Err(e)
            }
        }
    }

    /// Drops connection `n` when `failed`: the next request connects again.
    fn settle(&self, n: u64, failed: bool) {
        if !failed {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|(m, _)| *m == n) {
            tracing::warn!(master = %self.sentinels, "Redis master connection dropped; asking the Sentinels again");
            *current = None;
        }
    }
}

/// A failure after which this connection is of no more use: broken, silent, or its Redis is a
/// replica now.
fn broken(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || e.is_unrecoverable_error()
        || e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
}

fn read_only(v: &Value) -> bool {
    matches!(v, Value::ServerError(e) if e.kind() == Some(ServerErrorKind::ReadOnly))
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Fixed(m) => m.req_packed_command(cmd),
            Conn::Following(f) => Box::pin(async move {
                let (n, mut conn) = f.get().await?;
                let out = conn.req_packed_command(cmd).await;
                f.settle(n, out.as_ref().map_or_else(broken, read_only));
                out
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Fixed(m) => m.req_packed_commands(pipe, offset, count),
            Conn::Following(f) => Box::pin(async move {
                let (n, mut conn) = f.get().await?;
                let out = conn.req_packed_commands(pipe, offset, count).await;
                let failed = match &out {
                    Ok(values) => values.iter().any(read_only),
                    Err(e) => broken(e),
                };
                f.settle(n, failed);
                out
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Fixed(m) => m.get_db(),
            Conn::Following(f) => f.sentinels.db(),
        }
    }
}
