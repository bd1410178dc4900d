//! `--store redis` (or `--redis URL`): several nodes sharing rooms through Redis, with the same guarantees as one
//! node (one order per room, exact resume on any node, idempotent sends across nodes).
//!
//! Redis sequences and keeps every message: a post is one Lua script ([`script`]) that dedupes,
//! takes the next `seq`, appends to the room's stream and publishes, atomically. A node posts on
//! an async multiplexed connection ([`conn`], which reconnects by itself) and completes the append when the script's reply arrives, so nothing is acked before Redis
//! has it. Reads ([`reads`]) and fan-out from other nodes ([`subscriber`]) use blocking
//! connections on the caller's thread and on one pub/sub thread. Who is present is shared too
//! ([`presence`]). `--retain-age` is a periodic trim by the messages' `ts` ([`retention`]).
//!
//! Faults: Redis unreachable → posts fail with `unavailable` (never acked), joins that must load
//! a room fail, [`Bus::ready`] is false; the connections come back by themselves and the
//! subscriber fills what it missed from the streams. Redis restarted without persistence, or
//! rolled back (an older snapshot, a failover to a replica that was behind) → rooms get new
//! epochs (clients resuming are told `complete: false`; see [`life`]). A shard given as
//! Sentinels ([`sentinel`]) follows a failover: every connection is made to the master they
//! name when it connects; the promoted replica is a new life, so rooms get new epochs.

pub mod accounts;
mod commits;
mod conn;
mod conversations;
mod erase;
pub mod files;
mod keys;
mod life;
mod members;
mod notices;
mod period;
mod positions;
mod post;
mod presence;
mod publisher;
mod push;
mod reads;
mod retention;
mod room_lists;
mod script;
mod sentinel;
mod shards;
mod subscriber;
mod sweep;

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::store::Entry;
use banter_protocol::http::ConversationSummary;

use self::conn::Conn;
use self::post::Post;
use self::presence::Presence;
use self::publisher::{Job, Publisher};
use self::reads::Reads;
use self::retention::AgeTrim;
use self::script::Template;
use self::sentinel::Endpoint;
pub use self::shards::RedisStore;
use self::subscriber::Subscriber;
use super::{
    AppendDone, Bus, Frame, History, NewMessage, Position, PositionsDone, Range, RoomMeta,
    Settings, Sink, Store, StoreError,
};

/// `--store redis`: Redis is both the history and the bus.
pub fn open(s: &Settings) -> Result<Store, StoreError> {
    let Some(url) = &s.redis_url else {
        return Err(StoreError::failed(
            "--store redis needs the Redis to share: give --redis URL",
        ));
    };
    let redis = Arc::new(RedisStore::open(&RedisConfig {
        url: url.clone(),
        queue: s.queue,
        retain: s.retention.messages,
        retain_age: s.retention.age,
        dedupe_window: s.dedupe_window,
        aof_rewrite: s.aof_rewrite_after_delete,
    })?);
    Ok(Store::new(redis.clone(), Some(redis.clone()))
        .with_positions(redis.clone())
        .with_push(redis.clone())
        .with_members(redis.clone())
        .with_room_lists(redis))
}

/// The Redis store's settings.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// One Redis URL, or several separated by commas: the shards (see [`shards`]).
    pub url: String,
    /// Posts waiting for Redis at most; more are refused as busy.
    pub queue: usize,
    /// Keep the newest this many messages per room (`None` = all).
    pub retain: Option<u64>,
    /// Keep messages younger than this (`None` = forever): trimmed periodically (see
    /// [`retention`]).
    pub retain_age: Option<Duration>,
    pub dedupe_window: Duration,
    /// After a deletion, `BGREWRITEAOF` at most once per this (zero = never; see [`erase`]).
    pub aof_rewrite: Duration,
}

/// One Redis of the store's shards (see [`shards`]): the whole store for the rooms placed on it.
pub struct Shard {
    cfg: RedisConfig,
    notices: notices::Notices,
    positions: positions::PositionWriter,
    publisher: Publisher,
    reads: Arc<Reads>,
    subscriber: Subscriber,
    presence: Presence,
    _age_trim: Option<AgeTrim>,
    rewrite: erase::AofRewrite,
}

impl Shard {
    /// This shard's blocking reads.
    pub(super) fn reads(&self) -> &Reads {
        &self.reads
    }

    /// Connects to the Redis at `url` (a `redis://` URL, or Sentinels: see [`sentinel`]; call
    /// within a tokio runtime). Fails with a sentence saying what to fix when the URL is wrong
    /// or Redis does not answer.
    pub fn open(cfg: &RedisConfig, url: &str) -> Result<Self, StoreError> {
        let endpoint = Endpoint::parse(url)
            .map_err(|e| StoreError::failed(format!("cannot use Redis at {url}: {e}")))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::failed("the Redis store needs a tokio runtime"))?;
        let answers = endpoint
            .connect(reads::TIMEOUT)
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if let Err(e) = answers {
            return Err(StoreError::failed(format!(
                "{endpoint} does not answer ({e}): start it, or fix --redis"
            )));
        }
        let conn = Conn::new(&endpoint)
            .map_err(|e| StoreError::failed(format!("cannot use {endpoint}: {e}")))?;
        let reads = Arc::new(Reads::new(endpoint));
        let durable = life::Durable::start(&runtime, conn.clone(), reads.durable());
        reads.refresh(&durable)?;
        let presence = Presence::start(&runtime, conn.clone());
        let notices = notices::Notices::start(&runtime, conn.clone());
        let positions = positions::PositionWriter::start(&runtime, conn.clone());
        let subscriber = Subscriber::start(reads.clone(), presence.clone(), durable.clone())?;
        let post = script::post();
        let age_trim = cfg
            .retain_age
            .map(|age| AgeTrim::start(&runtime, conn.clone(), age, presence.node.clone()));
        let rewrite = erase::AofRewrite::start(
            &runtime,
            conn.clone(),
            cfg.aof_rewrite,
            presence.node.clone(),
        );
        Ok(Shard {
            rewrite,
            cfg: cfg.clone(),
            notices,
            positions,
            publisher: Publisher::start(&runtime, conn, post, cfg.queue, durable),
            reads,
            subscriber,
            presence,
            _age_trim: age_trim,
        })
    }
}

impl History for Shard {
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        self.reads.read(room, None, 0).map(|(_, meta)| meta)
    }

    fn append(&self, msg: NewMessage, done: AppendDone) {
        let template = match Template::new(&msg) {
            Ok(t) => t,
            Err(e) => return done(Err(e)),
        };
        let shape = post::Shape {
            retain: self.cfg.retain.unwrap_or(0),
            window_ms: self.cfg.dedupe_window.as_millis().max(1) as u64,
            node_bound: self.rewrite.bound(),
        };
        let post = Post::new(&msg, template, &shape);
        let done = self.rewrite.after(&msg, done);
        self.publisher
            .send(Job { post, done }, shards::hash(&msg.room));
    }

    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<Entry>, RoomMeta), StoreError> {
        self.reads.read(room, Some(range), limit)
    }

    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        self.reads.list(limit)
    }

    fn every_room(&self) -> Result<Vec<String>, StoreError> {
        let mut all: Vec<String> = self
            .reads
            .list(usize::MAX)?
            .into_iter()
            .map(|r| r.0)
            .collect();
        all.extend(conversations::every(&self.reads)?);
        Ok(all)
    }

    fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError> {
        conversations::members(&self.reads, room)
    }

    fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let mut out = conversations::of_user(&self.reads, user, limit)?;
        super::most_recent_first(&mut out, limit);
        Ok(out)
    }

    fn ready(&self) -> bool {
        self.subscriber.connected()
    }
}

impl Shard {
    /// `user`'s read positions kept on this shard.
    fn positions(&self, user: &str) -> Result<Vec<(String, u64)>, StoreError> {
        positions::load(&self.reads, user)
    }

    /// Saves read positions of users placed on this shard.
    fn save_positions(&self, batch: Vec<Position>, done: PositionsDone) {
        self.positions.save(batch, done);
    }
}

impl Bus for Shard {
    fn ready(&self) -> bool {
        self.subscriber.connected()
    }

    fn online(&self, name: &str) -> Result<bool, StoreError> {
        push::online(&self.reads, name)
    }

    fn present(&self, room: &str) -> Result<Vec<String>, StoreError> {
        presence::present(&self.reads, room)
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

    fn presence(&self, room: &str, name: &str, here: bool) {
        self.presence.set(room, name, here);
    }

    fn user(&self, name: &str, here: bool) {
        self.subscriber.user(name, here);
    }

    fn follow_commits(&self, hook: crate::store::CommitHook) {
        if let Err(e) = commits::follow(&self.reads, hook) {
            tracing::error!(error = %e, "cannot follow the commit stream: search misses other nodes");
        }
    }

    fn direct(&self, to: &str, room: &str, frame: &Frame) {
        // Every node with `to` connected hears it; this node skips its own (it delivered here).
        let payload = format!("{}\n{room}\n{}", self.presence.node, frame.as_str());
        self.notices.send(keys::user_channel(to), payload);
    }
}
