//! `--redis URL`: several nodes sharing rooms through Redis, with the same guarantees as one
//! node (one order per room, exact resume on any node, idempotent sends across nodes).
//!
//! Redis sequences and keeps every message: a post is one Lua script ([`script`]) that dedupes,
//! takes the next `seq`, appends to the room's stream and publishes, atomically. A node posts on
//! an async multiplexed connection (redis-rs's connection manager, which reconnects by itself)
//! and completes the append when the script's reply arrives, so nothing is acked before Redis
//! has it. Reads ([`reads`]) and fan-out from other nodes ([`subscriber`]) use blocking
//! connections on the caller's thread and on one pub/sub thread.
//!
//! Faults: Redis unreachable → posts fail with `unavailable` (never acked), joins that must load
//! a room fail, [`Store::ready`] is false; the connections come back by themselves and the
//! subscriber fills what it missed from the streams. Redis restarted without persistence → rooms
//! get new epochs (clients resuming are told `complete: false`).

mod keys;
mod reads;
mod script;
mod subscriber;

use std::sync::{Arc, Weak};
use std::time::Duration;

use banter_protocol::ChatMessage;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::Semaphore;

use self::keys::Keys;
use self::reads::Reads;
use self::script::Template;
use self::subscriber::Subscriber;
use super::{AppendDone, Appended, NewMessage, Range, RoomMeta, Sink, Store, StoreError, Stored};

/// The Redis store's settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: String,
    /// Posts waiting for Redis at most; more are refused as busy.
    pub queue: usize,
    /// Keep the newest this many messages per room (`None` = all).
    pub retain: Option<u64>,
    pub dedupe_window: Duration,
}

/// See the module docs.
pub struct RedisStore {
    cfg: RedisConfig,
    conn: ConnectionManager,
    post: Arc<Script>,
    inflight: Arc<Semaphore>,
    runtime: tokio::runtime::Handle,
    reads: Arc<Reads>,
    subscriber: Subscriber,
}

impl RedisStore {
    /// Connects (call within a tokio runtime). Fails with a sentence saying what to fix when
    /// the URL is wrong or Redis does not answer.
    pub fn open(cfg: &RedisConfig) -> Result<Self, StoreError> {
        let bad = |e: redis::RedisError| {
            StoreError::failed(format!("cannot use Redis at {}: {e}", cfg.url))
        };
        let client = Client::open(cfg.url.as_str()).map_err(bad)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::failed("the Redis store needs a tokio runtime"))?;
        let reads = Arc::new(Reads::new(client.clone()));
        if !reads.ping() {
            return Err(StoreError::failed(format!(
                "Redis at {} does not answer: start it, or fix --redis",
                cfg.url
            )));
        }
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(reads::TIMEOUT))
            .set_response_timeout(Some(reads::TIMEOUT * 2))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, manager).map_err(bad)?;
        let subscriber = Subscriber::start(reads.clone())?;
        Ok(RedisStore {
            cfg: cfg.clone(),
            conn,
            post: Arc::new(script::post()),
            inflight: Arc::new(Semaphore::new(cfg.queue.max(1))),
            runtime,
            reads,
            subscriber,
        })
    }
}

impl Store for RedisStore {
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        self.reads.read(room, None, 0).map(|(_, meta)| meta)
    }

    fn append(&self, msg: NewMessage, done: AppendDone) {
        let Ok(permit) = self.inflight.clone().try_acquire_owned() else {
            return done(Err(StoreError::Busy));
        };
        let template = match Template::new(&msg) {
            Ok(t) => t,
            Err(e) => return done(Err(e)),
        };
        let keys = Keys::new(&msg.room);
        let window_ms = match &msg.dedupe_key {
            Some(_) => self.cfg.dedupe_window.as_millis().max(1) as u64,
            None => 0,
        };
        let dedupe = keys.dedupe(msg.dedupe_key.as_deref().unwrap_or(""));
        let retain = self.cfg.retain.unwrap_or(0);
        let (mut conn, post) = (self.conn.clone(), self.post.clone());
        self.runtime.spawn(async move {
            let reply: redis::RedisResult<(String, String, String)> = post
                .key(&keys.seq)
                .key(&keys.epoch)
                .key(&keys.stream)
                .key(&dedupe)
                .key(keys::ROOMS)
                .arg(&*super::new_epoch())
                .arg(&template.prefix)
                .arg(&template.suffix)
                .arg(retain)
                .arg(window_ms)
                .arg(&*msg.room)
                .arg(&keys.channel)
                .invoke_async(&mut conn)
                .await;
            drop(permit);
            done(reply.map_err(reads::unavailable).and_then(appended));
        });
    }

    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<ChatMessage>, RoomMeta), StoreError> {
        self.reads.read(room, Some(range), limit)
    }

    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.reads.list(limit)
    }

    fn ready(&self) -> bool {
        self.subscriber.connected()
    }

    fn attach(&self, sink: Weak<dyn Sink>) {
        self.subscriber.attach(sink);
    }

    fn watch(&self, room: &str) -> Result<(), StoreError> {
        self.subscriber.watch(room)
    }

    fn unwatch(&self, room: &str) {
        self.subscriber.unwatch(room);
    }
}

/// The post script's reply as a completed append.
fn appended((epoch, duplicate, json): (String, String, String)) -> Result<Appended, StoreError> {
    Ok(Appended {
        stored: Stored::new(script::decode(&json)?),
        epoch: epoch.into(),
        duplicate: duplicate == "1",
    })
}
