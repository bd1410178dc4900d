//! `--store memory`: rooms kept in this process only, as before the durable store existed.
//!
//! Each room holds its last `--history` messages (fewer with `--retain-messages`) and a dedupe
//! table ([`dedupe`]); at most `--max-rooms` rooms exist. Everything is lost on restart, which is why the store has one epoch per process:
//! a client that resumes after a restart presents the old epoch and is told `complete: false`.
//!
//! An append completes synchronously, under the room's lock, so completions reach the hub in
//! `seq` order. Lock order: this store's locks, then the hub's (the hub never calls a store while
//! holding a room lock).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use banter_protocol::ChatMessage;
use banter_protocol::http::ConversationSummary;
use tokio::time::Instant;

pub mod dedupe;

use dedupe::{Dedupe, DedupeLimits};

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
    let history = MemoryStore::new(keep, s.max_rooms, limits);
    Ok(Store::new(Arc::new(history), None))
}

/// See the module docs.
pub struct MemoryStore {
    epoch: Arc<str>,
    history: usize,
    max_rooms: usize,
    dedupe: DedupeLimits,
    rooms: Mutex<HashMap<Arc<str>, Arc<Mutex<MemRoom>>>>,
    /// Private conversations: room → members, and each user's rooms.
    conversations: Mutex<Conversations>,
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
}

#[derive(Default)]
struct MemRoom {
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
            epoch: super::new_epoch(),
            history: history.max(1),
            max_rooms,
            dedupe,
            rooms: Mutex::new(HashMap::new()),
            conversations: Mutex::default(),
        }
    }

    fn get(&self, room: &str) -> Option<Arc<Mutex<MemRoom>>> {
        lock(&self.rooms).get(room).cloned()
    }

    fn get_or_create(&self, room: &Arc<str>) -> Result<Arc<Mutex<MemRoom>>, StoreError> {
        let mut rooms = lock(&self.rooms);
        if let Some(r) = rooms.get(room) {
            return Ok(r.clone());
        }
        if rooms.len() >= self.max_rooms {
            return Err(StoreError::TooManyRooms(self.max_rooms));
        }
        let r = Arc::new(Mutex::new(MemRoom::default()));
        rooms.insert(room.clone(), r.clone());
        Ok(r)
    }

    fn meta(&self, r: &MemRoom) -> RoomMeta {
        RoomMeta {
            epoch: self.epoch.clone(),
            head: r.head,
            oldest: r.ring.front().map_or(r.head + 1, |s| s.msg.seq),
        }
    }

    fn empty_meta(&self) -> RoomMeta {
        RoomMeta {
            epoch: self.epoch.clone(),
            head: 0,
            oldest: 1,
        }
    }
}

impl History for MemoryStore {
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        Ok(match self.get(room) {
            Some(r) => self.meta(&lock(&r)),
            None => self.empty_meta(),
        })
    }

    fn append(&self, msg: NewMessage, done: AppendDone) {
        let room = match self.get_or_create(&msg.room) {
            Ok(r) => r,
            Err(e) => return done(Err(e)),
        };
        if let Some(members) = &msg.members {
            lock(&self.conversations).record(&msg.room, members);
        }
        let now = Instant::now();
        let mut r = lock(&room);
        if let Some(key) = &msg.dedupe_key
            && let Some(stored) = r.dedupe.get(key, now, self.dedupe)
        {
            return done(Ok(Appended {
                stored,
                epoch: self.epoch.clone(),
                duplicate: true,
            }));
        }
        r.head += 1;
        let stored = Stored::new(msg.sequenced(r.head));
        r.ring.push_back(stored.clone());
        while r.ring.len() > self.history {
            r.ring.pop_front();
        }
        if let Some(key) = &msg.dedupe_key {
            r.dedupe.insert(key, stored.clone(), now, self.dedupe);
        }
        // Under the room's lock: completions reach the hub in `seq` order.
        done(Ok(Appended {
            stored,
            epoch: self.epoch.clone(),
            duplicate: false,
        }));
    }

    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let rooms: Vec<(Arc<str>, Arc<Mutex<MemRoom>>)> = lock(&self.rooms)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
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
                    (r.head, r.ring.back().map_or(0, |s| s.msg.ts))
                });
                ConversationSummary {
                    room: room.to_string(),
                    with: with.to_string(),
                    head,
                    ts,
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
    ) -> Result<(Vec<ChatMessage>, RoomMeta), StoreError> {
        let Some(r) = self.get(room) else {
            return Ok((Vec::new(), self.empty_meta()));
        };
        let r = lock(&r);
        let meta = self.meta(&r);
        let msgs: Vec<ChatMessage> = match range {
            Range::After(since) => r
                .ring
                .iter()
                .filter(|s| s.msg.seq > since)
                .take(limit)
                .map(|s| s.msg.clone())
                .collect(),
            Range::Before(before) => {
                let below = r.ring.iter().filter(|s| s.msg.seq < before).count();
                r.ring
                    .iter()
                    .take(below)
                    .skip(below.saturating_sub(limit))
                    .map(|s| s.msg.clone())
                    .collect()
            }
        };
        Ok((msgs, meta))
    }

    fn ready(&self) -> bool {
        true
    }
}
