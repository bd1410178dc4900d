//! Fan-out across nodes: one thread per node holds a pub/sub connection, subscribed to the
//! channel of every room that has local members, and publishes what arrives into the hub's
//! rooms (decoded once per node, one shared frame for all local members).
//!
//! Gaps are detected by `seq`: a message ahead of the room's `head + 1` means messages were
//! missed (a pub/sub message lost, or the connection dropped), so the missing range is read from
//! the room's stream and published first; members see no gap and no repeat (publish ignores what
//! it already has). After a reconnect every watched room is re-subscribed and caught up from the
//! stream before anything else is read (after recording the life of Redis's data, which a
//! restart may have renewed: rooms then reset to their new epoch, see `life`). A dead
//! connection is noticed by a PING every [`PING_EVERY`] when nothing arrives; until it is back,
//! [`Subscriber::connected`] is false (the node is not ready).
//!
//! Direct messages: the thread also subscribes to the channel of each name connected here
//! (`banter:u:<name>`) and hands what other nodes publish there to the hub.
//!
//! `watch` blocks until the subscription is confirmed (at most [`WATCH_TIMEOUT`]), so the
//! hub reads a room's head only once every later message will reach it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use redis::{Msg, PubSub};

use super::keys::{self, Keys, room_of_channel};
use super::life::Durable;
use super::presence::{self, Presence};
use super::reads::{Reads, TIMEOUT};
use super::script;
use super::sweep;
use crate::store::{Range, Sink, StoreError, Stored};

/// How long a read of the pub/sub connection waits before the thread looks at its commands.
const TICK: Duration = Duration::from_millis(20);
/// Idle time after which the connection is checked with a PING.
const PING_EVERY: Duration = Duration::from_secs(1);
/// Longest wait for a subscription to be confirmed.
const WATCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Messages read from the stream at once when filling a gap.
const FILL_BATCH: usize = 1000;
/// Longest pause between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

enum Command {
    Subscribe(String, Sender<()>),
    Unsubscribe(String),
    /// A user's direct-message channel.
    SubscribeUser(String, Sender<()>),
    UnsubscribeUser(String),
}

/// See the module docs.
pub struct Subscriber {
    commands: Mutex<Sender<Command>>,
    shared: Arc<Shared>,
}

struct Shared {
    reads: Arc<Reads>,
    presence: Presence,
    durable: Durable,
    sink: OnceLock<Weak<dyn Sink>>,
    /// Watch counts per room (see `Bus::watch`).
    watched: Mutex<HashMap<String, i64>>,
    /// Names connected here (their direct-message channels are subscribed).
    users: Mutex<std::collections::HashSet<String>>,
    connected: AtomicBool,
}

impl Subscriber {
    /// Starts the thread.
    pub fn start(
        reads: Arc<Reads>,
        presence: Presence,
        durable: Durable,
    ) -> Result<Self, StoreError> {
        let (tx, rx) = channel();
        let shared = Arc::new(Shared {
            reads,
            presence,
            durable,
            sink: OnceLock::new(),
            watched: Mutex::new(HashMap::new()),
            users: Mutex::default(),
            connected: AtomicBool::new(false),
        });
        let rooms: Arc<dyn sweep::Rooms> = shared.clone();
        sweep::start(
            shared.reads.clone(),
            shared.presence.node.clone(),
            Arc::downgrade(&rooms),
        )?;
        let thread = shared.clone();
        std::thread::Builder::new()
            .name("banter-redis-sub".into())
            .spawn(move || thread.run(rx))
            .map_err(StoreError::failed)?;
        Ok(Subscriber {
            commands: Mutex::new(tx),
            shared,
        })
    }

    pub fn attach(&self, sink: Weak<dyn Sink>) {
        let _ = self.shared.sink.set(sink);
    }

    /// Whether the pub/sub connection is up.
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    fn send(&self, cmd: Command) {
        let _ = self
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(cmd);
    }

    /// Counts a watch of `room` and waits until its channel is subscribed.
    pub fn watch(&self, room: &str) -> Result<(), StoreError> {
        *self
            .shared
            .lock_watched()
            .entry(room.to_owned())
            .or_insert(0) += 1;
        let (tx, rx) = channel();
        self.send(Command::Subscribe(room.to_owned(), tx));
        wait(rx).map_err(|_| StoreError::Failed("redis is unavailable".into()))
    }

    /// Routes direct messages for `name` here (`here`), or no longer.
    pub fn user(&self, name: &str, here: bool) {
        let mut users = self
            .shared
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if here {
            users.insert(name.to_owned());
            drop(users);
            let (tx, rx) = channel();
            self.send(Command::SubscribeUser(name.to_owned(), tx));
            // Reachable from every node once this returns (a failure shows as unknown_user).
            let _ = wait(rx);
        } else {
            users.remove(name);
            self.send(Command::UnsubscribeUser(name.to_owned()));
        }
    }

    /// Uncounts a watch of `room`; unsubscribes when none is left.
    pub fn unwatch(&self, room: &str) {
        let last = {
            let mut w = self.shared.lock_watched();
            let count = w.entry(room.to_owned()).or_insert(0);
            *count -= 1;
            let last = *count == 0;
            if last {
                w.remove(room);
            }
            last
        };
        if last {
            self.send(Command::Unsubscribe(room.to_owned()));
        }
    }
}

/// Waits (at most [`WATCH_TIMEOUT`]) for the thread to confirm a subscription, letting the
/// runtime move other tasks off this worker meanwhile.
fn wait(rx: Receiver<()>) -> Result<(), std::sync::mpsc::RecvTimeoutError> {
    let wait = || rx.recv_timeout(WATCH_TIMEOUT);
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
        _ => wait(),
    }
}

impl Shared {
    fn lock_watched(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sink(&self) -> Option<Arc<dyn Sink>> {
        self.sink.get()?.upgrade()
    }

    fn watched_rooms(&self) -> Vec<String> {
        self.lock_watched()
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Connects, serves until the connection fails, and again, until the store is dropped.
    fn run(self: Arc<Self>, commands: Receiver<Command>) {
        let first = Duration::from_millis(50);
        let mut backoff = first;
        loop {
            match self.session(&commands) {
                Ok(Stop) => return,
                Err(e) => {
                    if self.connected.swap(false, Ordering::AcqRel) {
                        tracing::warn!(error = %e, "redis pub/sub connection lost; reconnecting");
                        backoff = first;
                    }
                    // Subscriptions asked for meanwhile are made on reconnect; their waiters
                    // time out (the join is refused as unavailable) unless Redis is back soon.
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One connection's life. `Ok` when the store is gone.
    fn session(&self, commands: &Receiver<Command>) -> Result<Stop, StoreError> {
        let mut conn = self.reads.connect()?;
        let mut ps = conn.as_pubsub();
        // Replies (to SUBSCRIBE, UNSUBSCRIBE, PING) get a reply's timeout (see `replied`); the
        // wait for the next message is a short tick, so that commands are not held up.
        ps.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
        let rooms = self.watched_rooms();
        let mut channels: Vec<String> = rooms.iter().map(|r| Keys::new(r).channel).collect();
        channels.extend(
            self.users
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|u| keys::user_channel(u)),
        );
        if !channels.is_empty() {
            ps.subscribe(channels).map_err(fail)?;
        }
        ps.set_read_timeout(Some(TICK)).map_err(fail)?;
        // Redis may have restarted (with other settings): decide its data's life before reading
        // any room's epoch.
        self.durable.set(self.reads.durable());
        self.reads.refresh(&self.durable)?;
        self.connected.store(true, Ordering::Release);
        tracing::info!(rooms = rooms.len(), "redis pub/sub connected");
        for room in &rooms {
            self.catch_up(room, u64::MAX)?;
        }
        // Presence is re-read by the sweep thread within a period.
        let mut last_heard = Instant::now();
        loop {
            loop {
                match commands.try_recv() {
                    Ok(cmd) => replied(&mut ps, |ps| self.command(ps, cmd))?,
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return Ok(Stop),
                }
            }
            match ps.get_message() {
                Ok(msg) => {
                    last_heard = Instant::now();
                    self.receive(&msg)?;
                }
                Err(e) if e.is_timeout() => {
                    if last_heard.elapsed() >= PING_EVERY {
                        replied(&mut ps, ping)?;
                        last_heard = Instant::now();
                    }
                }
                Err(e) => return Err(fail(e)),
            }
        }
    }

    /// Carries out one command on the pub/sub connection.
    fn command(&self, ps: &mut PubSub<'_>, cmd: Command) -> Result<(), StoreError> {
        match cmd {
            Command::Subscribe(room, ack) => {
                ps.subscribe(Keys::new(&room).channel).map_err(fail)?;
                // Who is present elsewhere, before the hub builds its `joined`.
                self.sweep(std::slice::from_ref(&room))?;
                let _ = ack.send(());
            }
            Command::Unsubscribe(room) => {
                ps.unsubscribe(Keys::new(&room).channel).map_err(fail)?;
            }
            Command::SubscribeUser(name, ack) => {
                ps.subscribe(keys::user_channel(&name)).map_err(fail)?;
                let _ = ack.send(());
            }
            Command::UnsubscribeUser(name) => {
                ps.unsubscribe(keys::user_channel(&name)).map_err(fail)?;
            }
        }
        Ok(())
    }

    /// Publishes the live messages of a room channel's payload (or a presence change, or a
    /// user's direct frame or read position).
    fn receive(&self, msg: &Msg) -> Result<(), StoreError> {
        let payload = msg.get_payload_bytes();
        let text = std::str::from_utf8(payload).map_err(StoreError::failed)?;
        if let Some(name) = keys::user_of_channel(msg.get_channel_name()) {
            // `seq \n room`: the user's read position moved (see `positions`).
            if let Some((room, seq)) = super::positions::parse(text) {
                if let Some(sink) = self.sink() {
                    sink.read(name, room, seq);
                }
                return Ok(());
            }
            // `node \n room \n frame`: a node skips what it sent itself.
            let mut parts = text.splitn(3, '\n');
            if let (Some(node), Some(room), Some(frame)) =
                (parts.next(), parts.next(), parts.next())
                && *node != *self.presence.node
                && let Some(sink) = self.sink()
            {
                sink.direct(name, room, frame.into());
            }
            return Ok(());
        }
        let Some(room) = room_of_channel(msg.get_channel_name()) else {
            return Ok(());
        };
        if let Some((node, here, name)) = presence::parse(text) {
            if *node != *self.presence.node
                && let Some(sink) = self.sink()
            {
                sink.remote_presence(room, node, name, here);
            }
            return Ok(());
        }
        // `epoch (\n seq \n message)+`: the seq first, so a message this node already
        // published (its own post, completed locally) is skipped without decoding it.
        let Some((epoch, mut rest)) = text.split_once('\n') else {
            return Ok(());
        };
        while let Some((seq, after)) = rest.split_once('\n') {
            let (json, next) = after.split_once('\n').unwrap_or((after, ""));
            rest = next;
            let Ok(seq) = seq.parse::<u64>() else {
                return Ok(());
            };
            if !self.deliver(room, epoch, seq, json)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Publishes the live message `seq` of `room`, after filling any gap before it; false when
    /// the rest of its payload is moot (the room is not loaded here, or its epoch changed).
    fn deliver(&self, room: &str, epoch: &str, seq: u64, json: &str) -> Result<bool, StoreError> {
        let Some(sink) = self.sink() else {
            return Ok(false);
        };
        if let Some((have, head)) = sink.head(room) {
            if *have != *epoch {
                self.reset(&sink, room);
                return Ok(false);
            }
            if seq <= head {
                return Ok(true);
            }
            if seq > head + 1 {
                self.catch_up(room, seq - 1)?;
            }
        }
        let message = match script::decode(json) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(room, error = %e, "undecodable message on a room channel");
                return Ok(true);
            }
        };
        sink.publish(room, epoch, Stored::new(message));
        Ok(true)
    }

    /// Publishes what the stream holds after the room's head, up to `to`.
    fn catch_up(&self, room: &str, to: u64) -> Result<(), StoreError> {
        let Some(sink) = self.sink() else {
            return Ok(());
        };
        loop {
            let Some((epoch, head)) = sink.head(room) else {
                return Ok(());
            };
            let want = to.saturating_sub(head).min(FILL_BATCH as u64) as usize;
            let (msgs, meta) = self.reads.read(room, Some(Range::After(head)), want)?;
            if meta.epoch != epoch {
                self.reset(&sink, room);
                return Ok(());
            }
            let Some(last) = msgs.last().map(|m| m.seq()) else {
                return Ok(());
            };
            for m in msgs {
                if m.seq() <= to {
                    sink.publish(room, &meta.epoch, Stored::read_at(m, meta.head));
                }
            }
            if last >= to || sink.head(room).is_none_or(|(_, h)| h < last) {
                // Done, or the window cannot move on (retention trimmed the gap away).
                return Ok(());
            }
        }
    }
}

impl Shared {
    /// Redis lost `room` (see [`Sink::reset`]); its watch ends with it. Its channel stays
    /// subscribed until the next unwatch of the room (messages for a room not loaded are
    /// dropped).
    fn reset(&self, sink: &Arc<dyn Sink>, room: &str) {
        if let Some(names) = sink.reset(room) {
            for name in names {
                self.presence.set(room, &name, false);
            }
            let mut w = self.lock_watched();
            if let Some(n) = w.get_mut(room) {
                *n -= 1;
                if *n == 0 {
                    w.remove(room);
                }
            }
        }
    }
}

impl Shared {
    /// Re-reads who is present in `rooms` on other live nodes (see [`sweep`]).
    fn sweep(&self, rooms: &[String]) -> Result<(), StoreError> {
        match self.sink() {
            Some(sink) => sweep::sweep(&self.reads, &*sink, &self.presence.node, rooms),
            None => Ok(()),
        }
    }
}

impl sweep::Rooms for Shared {
    fn sink(&self) -> Option<Arc<dyn Sink>> {
        Shared::sink(self)
    }

    fn rooms(&self) -> Vec<String> {
        self.watched_rooms()
    }
}

/// The store was dropped.
struct Stop;

/// Runs `f`, which waits for a reply, with a reply's timeout instead of the tick: a loaded Redis
/// or machine may take more than a tick to confirm a SUBSCRIBE, which is no reason to reconnect.
fn replied<'a>(
    ps: &mut PubSub<'a>,
    f: impl FnOnce(&mut PubSub<'a>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    ps.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
    f(ps)?;
    ps.set_read_timeout(Some(TICK)).map_err(fail)
}

fn ping(ps: &mut PubSub<'_>) -> Result<(), StoreError> {
    ps.ping::<redis::Value>().map(drop).map_err(fail)
}

fn fail(e: redis::RedisError) -> StoreError {
    StoreError::failed(e)
}
