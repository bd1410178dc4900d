//! `--store memory`: rooms kept in this process only, as before the durable store existed.
//!
//! Each room holds its last `--history` messages (fewer with `--retain-messages`) and a dedupe
//! table ([`dedupe`]). Everything is lost on
//! restart, which is why rooms get an epoch of this process: a client that resumes after a
//! restart presents the old epoch and is told `complete: false`.
//!
//! Memory is bounded: at most `--max-rooms` rooms, holding at most `--memory-store-bytes` of
//! messages together. Past either, the rooms nobody is in (not watched by the hub) are forgotten,
//! least recently written first; when every room is in use, the room written to keeps fewer of
//! its oldest messages. A forgotten room starts over in a new epoch: each forgetting turns the
//! store's epoch, which rooms take when they are created (an empty room is created when the hub
//! loads it, so a loaded room and the store always agree on its epoch). So within one epoch a
//! `seq` still means one message, and a client resuming a forgotten room is told
//! `complete: false`.
//!
//! An append completes synchronously, under the room's lock, so completions reach the hub in
//! `seq` order. Lock order: the room map, or a room, then the conversations; never the map while
//! holding a room (the map keeps each room's accounting itself). The hub never calls a store
//! while holding a room lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use banter_protocol::http::ConversationSummary;
use tokio::time::Instant;

pub mod dedupe;
mod lifecycle;

use super::Entry as StoredEntry;
use dedupe::{Dedupe, DedupeLimits};
use lifecycle::Prepared;

use super::{
    AppendDone, Appended, History, NewMessage, Range, RoomMeta, Settings, Store, StoreError, Stored,
};

/// `--store memory`: a history of this process only, and no bus.
pub fn open(s: &Settings) -> Result<Store, StoreError> {
    let keep = match s.retention.messages {
        Some(n) => s.history.min(usize::try_from(n).unwrap_or(usize::MAX)),
        None => s.history,
    };
    let limits = DedupeLimits {
        window: s.dedupe_window,
        capacity: s.dedupe_capacity,
    };
    let history = MemoryStore::new(keep, s.max_rooms, limits).with_max_bytes(s.memory_bytes);
    Ok(Store::new(Arc::new(history), None))
}

/// `--memory-store-bytes` unless set otherwise.
pub const DEFAULT_MAX_BYTES: usize = 256 << 20;

/// See the module docs.
pub struct MemoryStore {
    history: usize,
    max_rooms: usize,
    max_bytes: usize,
    dedupe: DedupeLimits,
    rooms: Mutex<RoomMap>,
    /// Private conversations: room → members, and each user's rooms.
    conversations: Mutex<Conversations>,
}

/// The rooms, with what it takes to choose which to forget.
struct RoomMap {
    map: HashMap<Arc<str>, Entry>,
    /// The epoch a room created now gets.
    epoch: Arc<str>,
    /// Message bytes held by every room together.
    bytes: usize,
    /// Counts writes, for "least recently written".
    clock: u64,
}

struct Entry {
    room: Arc<Mutex<MemRoom>>,
    /// Hub loads minus unloads: a watched room is never forgotten.
    watchers: u32,
    written: u64,
    bytes: usize,
}

#[derive(Default)]
struct Conversations {
    members: HashMap<Arc<str>, (Arc<str>, Arc<str>)>,
    of_user: HashMap<Arc<str>, Vec<Arc<str>>>,
}

impl Conversations {
    fn record(&mut self, room: &Arc<str>, (a, b): &(Arc<str>, Arc<str>)) {
        if self.members.contains_key(room) {
            return;
        }
        self.members.insert(room.clone(), (a.clone(), b.clone()));
        self.of_user
            .entry(a.clone())
            .or_default()
            .push(room.clone());
        if a != b {
            self.of_user
                .entry(b.clone())
                .or_default()
                .push(room.clone());
        }
    }

    /// Forgets a conversation that the store forgot.
    fn forget(&mut self, room: &str) {
        let Some((a, b)) = self.members.remove(room) else {
            return;
        };
        for user in [a, b] {
            if let Some(rooms) = self.of_user.get_mut(&user) {
                rooms.retain(|r| **r != *room);
                if rooms.is_empty() {
                    self.of_user.remove(&user);
                }
            }
        }
    }
}

struct MemRoom {
    /// Removed from the map: an append that finds it so looks the room up again.
    forgotten: bool,
    epoch: Arc<str>,
    head: u64,
    ring: VecDeque<Arc<Stored>>,
    dedupe: Dedupe,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    pub fn new(history: usize, max_rooms: usize, dedupe: DedupeLimits) -> Self {
        MemoryStore {
            history: history.max(1),
            max_rooms,
            max_bytes: DEFAULT_MAX_BYTES,
            dedupe,
            rooms: Mutex::new(RoomMap {
                map: HashMap::new(),
                epoch: super::new_epoch(),
                bytes: 0,
                clock: 0,
            }),
            conversations: Mutex::default(),
        }
    }

    /// Holds at most `max_bytes` of messages (`--memory-store-bytes`).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes.max(1);
        self
    }

    fn get(&self, room: &str) -> Option<Arc<Mutex<MemRoom>>> {
        lock(&self.rooms).map.get(room).map(|e| e.room.clone())
    }

    /// The room, created (after forgetting one nobody is in, when at `--max-rooms`) if new.
    /// The room, created if missing; `hold`: counted as watched in the same critical section,
    /// so no append can forget it in between.
    fn get_or_create(&self, room: &str, hold: bool) -> Result<Arc<Mutex<MemRoom>>, StoreError> {
        let mut rooms = lock(&self.rooms);
        if let Some(e) = rooms.map.get_mut(room) {
            e.watchers += u32::from(hold);
            return Ok(e.room.clone());
        }
        if rooms.map.len() >= self.max_rooms && !self.forget_one(&mut rooms, room) {
            return Err(StoreError::TooManyRooms(self.max_rooms));
        }
        let r = Arc::new(Mutex::new(MemRoom {
            forgotten: false,
            epoch: rooms.epoch.clone(),
            head: 0,
            ring: VecDeque::new(),
            dedupe: Dedupe::default(),
        }));
        rooms.map.insert(
            room.into(),
            Entry {
                room: r.clone(),
                watchers: u32::from(hold),
                written: 0,
                bytes: 0,
            },
        );
        Ok(r)
    }

    /// Forgets the least recently written room nobody is in (never `keep`), and turns the
    /// epoch. Returns whether one was forgotten.
    fn forget_one(&self, rooms: &mut RoomMap, keep: &str) -> bool {
        let victim = rooms
            .map
            .iter()
            .filter(|(name, e)| e.watchers == 0 && ***name != *keep)
            .min_by_key(|(_, e)| e.written)
            .map(|(name, _)| name.clone());
        let Some(victim) = victim else {
            return false;
        };
        if let Some(e) = rooms.map.remove(&victim) {
            rooms.bytes -= e.bytes;
            lock(&e.room).forgotten = true;
        }
        rooms.epoch = super::new_epoch();
        lock(&self.conversations).forget(&victim);
        true
    }

    /// Accounts `added` bytes written to `room` (and `removed` trimmed), then forgets rooms
    /// nobody is in until the store is within `--memory-store-bytes`. Returns how many bytes
    /// are still over (the written room must give them up).
    fn account(&self, room: &str, added: usize, removed: usize) -> usize {
        let mut rooms = lock(&self.rooms);
        rooms.clock += 1;
        let clock = rooms.clock;
        if let Some(e) = rooms.map.get_mut(room) {
            e.bytes = e.bytes + added - removed.min(e.bytes + added);
            e.written = clock;
        }
        rooms.bytes = rooms.bytes + added - removed.min(rooms.bytes + added);
        while rooms.bytes > self.max_bytes && self.forget_one(&mut rooms, room) {}
        rooms.bytes.saturating_sub(self.max_bytes)
    }

    /// Drops the oldest messages of `room` (keeping its newest) until `over` bytes are freed.
    fn trim(&self, room: &str, over: usize) {
        let Some(r) = self.get(room) else { return };
        let mut removed = 0;
        {
            let mut r = lock(&r);
            while removed < over && r.ring.len() > 1 {
                removed += r.ring.pop_front().map_or(0, |s| s.weight());
            }
        }
        self.account(room, 0, removed);
    }

    fn meta(r: &MemRoom) -> RoomMeta {
        RoomMeta {
            epoch: r.epoch.clone(),
            head: r.head,
            oldest: r.ring.front().map_or(r.head + 1, |s| s.seq()),
        }
    }

    fn empty_meta(&self) -> RoomMeta {
        RoomMeta {
            epoch: lock(&self.rooms).epoch.clone(),
            head: 0,
            oldest: 1,
        }
    }

    /// Rooms held now (for tests and the operator's curiosity).
    pub fn rooms_held(&self) -> usize {
        lock(&self.rooms).map.len()
    }

    /// Message bytes held now.
    pub fn bytes_held(&self) -> usize {
        lock(&self.rooms).bytes
    }
}

impl History for MemoryStore {
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        Ok(match self.get(room) {
            Some(r) => Self::meta(&lock(&r)),
            None => self.empty_meta(),
        })
    }

    fn append(&self, msg: NewMessage, done: AppendDone) {
        let (added, removed) = loop {
            let room = match self.get_or_create(&msg.room, false) {
                Ok(r) => r,
                Err(e) => return done(Err(e)),
            };
            if let Some(members) = &msg.members {
                lock(&self.conversations).record(&msg.room, members);
            }
            let now = Instant::now();
            let mut r = lock(&room);
            if r.forgotten {
                continue;
            }
            if let Some(key) = &msg.dedupe_key
                && let Some(stored) = r.dedupe.get(key, now, self.dedupe)
            {
                let epoch = r.epoch.clone();
                return done(Ok(Appended {
                    stored,
                    epoch,
                    duplicate: true,
                    noop: false,
                }));
            }
            let (stored, folded_added, mut removed) = match lifecycle::prepare(&mut r, &msg) {
                Ok(Prepared::Entry(s, added, removed)) => (s, added, removed),
                Ok(Prepared::Noop(stored)) => {
                    let epoch = r.epoch.clone();
                    return done(Ok(Appended {
                        stored,
                        epoch,
                        duplicate: false,
                        noop: true,
                    }));
                }
                Err(refusal) => return done(Err(StoreError::Refused(refusal))),
            };
            r.head += 1;
            r.ring.push_back(stored.clone());
            while r.ring.len() > self.history {
                removed += r.ring.pop_front().map_or(0, |s| s.weight());
            }
            if let Some(key) = &msg.dedupe_key {
                r.dedupe.insert(key, stored.clone(), now, self.dedupe);
            }
            // Under the room's lock: completions reach the hub in `seq` order.
            let epoch = r.epoch.clone();
            done(Ok(Appended {
                stored: stored.clone(),
                epoch,
                duplicate: false,
                noop: false,
            }));
            break (stored.weight() + folded_added, removed);
        };
        let over = self.account(&msg.room, added, removed);
        if over > 0 {
            self.trim(&msg.room, over);
        }
    }

    fn hold(&self, room: &str) -> Result<(), StoreError> {
        self.get_or_create(room, true).map(|_| ())
    }

    fn release(&self, room: &str) {
        let mut rooms = lock(&self.rooms);
        let Some(e) = rooms.map.get_mut(room) else {
            return;
        };
        e.watchers = e.watchers.saturating_sub(1);
        // A room loaded and left without a message holds nothing worth keeping.
        if e.watchers == 0 && e.bytes == 0 && lock(&e.room).head == 0 {
            rooms.map.remove(room);
        }
    }

    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let rooms: Vec<(Arc<str>, Arc<Mutex<MemRoom>>)> = lock(&self.rooms)
            .map
            .iter()
            .map(|(k, e)| (k.clone(), e.room.clone()))
            .collect();
        let mut out: Vec<(String, u64)> = rooms
            .iter()
            .map(|(name, r)| (name.to_string(), lock(r).head))
            .filter(|(name, head)| *head > 0 && !banter_protocol::is_conversation(name))
            .collect();
        out.sort();
        out.truncate(limit);
        Ok(out)
    }

    fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(lock(&self.conversations)
            .members
            .get(room)
            .map(|(a, b)| (a.to_string(), b.to_string())))
    }

    fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let mine: Vec<(Arc<str>, Arc<str>)> = {
            let c = lock(&self.conversations);
            let rooms = c.of_user.get(user).map_or(&[][..], Vec::as_slice);
            rooms
                .iter()
                .filter_map(|room| {
                    let (a, b) = c.members.get(room)?;
                    Some((
                        room.clone(),
                        if **a == *user { b.clone() } else { a.clone() },
                    ))
                })
                .collect()
        };
        let mut out: Vec<ConversationSummary> = mine
            .into_iter()
            .map(|(room, with)| {
                let (head, ts) = self.get(&room).map_or((0, 0), |r| {
                    let r = lock(&r);
                    (r.head, r.ring.back().map_or(0, |s| s.entry.ts()))
                });
                ConversationSummary {
                    room: room.to_string(),
                    with: with.to_string(),
                    head,
                    ts,
                    members: Vec::new(),
                }
            })
            .collect();
        super::most_recent_first(&mut out, limit);
        Ok(out)
    }

    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<StoredEntry>, RoomMeta), StoreError> {
        let Some(r) = self.get(room) else {
            return Ok((Vec::new(), self.empty_meta()));
        };
        let r = lock(&r);
        let meta = Self::meta(&r);
        let msgs: Vec<StoredEntry> = match range {
            Range::After(since) => r
                .ring
                .iter()
                .filter(|s| s.seq() > since)
                .take(limit)
                .map(|s| s.entry.clone())
                .collect(),
            Range::Before(before) => {
                let below = r.ring.iter().filter(|s| s.seq() < before).count();
                r.ring
                    .iter()
                    .take(below)
                    .skip(below.saturating_sub(limit))
                    .map(|s| s.entry.clone())
                    .collect()
            }
        };
        Ok((msgs, meta))
    }

    fn ready(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn store(max_rooms: usize, max_bytes: usize) -> MemoryStore {
        let dedupe = DedupeLimits {
            window: Duration::from_secs(60),
            capacity: 10,
        };
        MemoryStore::new(100, max_rooms, dedupe).with_max_bytes(max_bytes)
    }

    fn post(s: &MemoryStore, room: &str, text: &str) -> Appended {
        let (tx, rx) = std::sync::mpsc::channel();
        let msg = NewMessage {
            room: room.into(),
            user: "ada".into(),
            text: text.into(),
            ..NewMessage::default()
        };
        s.append(
            msg,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().unwrap().unwrap()
    }

    #[test]
    fn rooms_nobody_is_in_are_forgotten_past_max_rooms_and_start_a_new_epoch() {
        let s = store(2, usize::MAX);
        let a1 = post(&s, "a", "one");
        post(&s, "b", "two");
        s.hold("b").unwrap();
        post(&s, "c", "three"); // forgets `a`, the least recently written unwatched room
        assert_eq!(s.rooms_held(), 2);
        assert_eq!(s.room("b").unwrap().head, 1, "a watched room is kept");
        let a2 = post(&s, "a", "again"); // forgets `c`
        assert_eq!(a2.stored.seq(), 1);
        assert_ne!(a1.epoch, a2.epoch, "seq 1 of `a` now means another message");
        s.hold("c").unwrap(); // `c` was forgotten: made again, empty, to be watched
        assert!(
            s.hold("d").is_err(),
            "every room is watched: a new one is refused"
        );
    }

    #[test]
    fn messages_are_bounded_in_bytes() {
        let text = "x".repeat(1000);
        let s = store(100, 20_000);
        for i in 0..10 {
            post(&s, &format!("r{i}"), &text);
            post(&s, &format!("r{i}"), &text);
        }
        assert!(s.bytes_held() <= 20_000, "{}", s.bytes_held());
        assert!(s.rooms_held() < 10, "the oldest rooms were forgotten");
        // A watched room written past the bound gives up its oldest messages.
        s.hold("hot").unwrap();
        for _ in 0..50 {
            post(&s, "hot", &text);
        }
        assert!(s.bytes_held() <= 20_000 + 2_000, "{}", s.bytes_held());
        let meta = s.room("hot").unwrap();
        assert_eq!(meta.head, 50);
        assert!(meta.oldest > 1);
        s.release("hot");
        s.hold("empty").unwrap();
        s.release("empty");
        assert!(s.get("empty").is_none(), "an empty room is not kept");
    }
}
