//! Several Redis instances as one store: `--redis` with URLs separated by commas
//! (`BANTER_REDIS_URL=redis://a:6379/,redis://b:6379/`). Every node must list the same
//! instances in the same order. An entry may name Sentinels instead of one Redis
//! (`redis+sentinel://s1:26379,s2:26379/mymaster`, see `sentinel`): its own commas separate
//! Sentinels, and a new entry starts only where a piece starts with a scheme (`…://`), see
//! [`entries`].
//!
//! Each room and private conversation lives on one shard, chosen by a jump consistent hash of
//! its id ([`place`]): its `seq`, stream, epoch, dedupe keys, presence hash and channel are all
//! there, so a post is still one script on one Redis and a room never spans shards. What belongs
//! to a user goes by the user's name: the channel of their direct-message notices. Each shard is
//! a whole [`Shard`] (its own connections, publisher, pub/sub thread, presence, retention and
//! life of its data); the room list and a user's conversations are read from every shard and
//! merged.
//!
//! Changing the list moves rooms: with a jump hash, adding an `N+1`th shard moves about
//! `1/(N+1)` of the rooms to it, and nothing else moves. A moved room's history stays behind on
//! its old shard: the room starts over at `seq` 1 in a new epoch (clients are told `complete:
//! false`); moving back to the old list finds the old history again, in its own epoch.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::store::Entry;
use banter_protocol::http::ConversationSummary;

use super::{RedisConfig, Shard};
use crate::store::{
    AppendDone, Bus, Frame, History, NewMessage, Position, Positions, PositionsDone, Range,
    RoomMeta, Sink, StoreError,
};

/// See the module docs.
pub struct RedisStore {
    shards: Vec<Shard>,
}

impl RedisStore {
    /// Connects to every shard (call within a tokio runtime); fails if any does not answer.
    pub fn open(cfg: &RedisConfig) -> Result<Self, StoreError> {
        let urls = entries(&cfg.url);
        if urls.is_empty() {
            return Err(StoreError::failed("--redis needs at least one URL"));
        }
        let shards = urls
            .iter()
            .map(|url| Shard::open(cfg, url))
            .collect::<Result<_, _>>()?;
        Ok(RedisStore { shards })
    }

    pub(super) fn of(&self, id: &str) -> &Shard {
        &self.shards[place(id, self.shards.len())]
    }

    /// The first shard: where what the whole cluster shares once lives (the VAPID key).
    pub(super) fn first(&self) -> &Shard {
        &self.shards[0]
    }

    /// The blocking reads of `room`'s shard (v1.2 room members: `members.rs`).
    pub(super) fn reads_of(&self, room: &str) -> &super::reads::Reads {
        self.of(room).reads()
    }

    /// Every shard's blocking reads.
    pub(super) fn all_reads(&self) -> impl Iterator<Item = &super::reads::Reads> {
        self.shards.iter().map(Shard::reads)
    }

    /// The shard a user's (or room's) keys live on.
    pub(super) fn shard_of(&self, id: &str) -> &Shard {
        self.of(id)
    }
}

/// The shards of a `--redis` list: split at commas, a piece without a scheme (`HOST:PORT/…`)
/// continuing the entry before it (a Sentinel entry's further Sentinels).
pub fn entries(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match out.last_mut() {
            Some(last) if !piece.contains("://") => {
                last.push(',');
                last.push_str(piece);
            }
            _ => out.push(piece.to_owned()),
        }
    }
    out
}

/// A stable 64-bit hash of an id (FNV-1a): the same on every node and every version.
pub fn hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shard of `id` among `n` (Lamping and Veach's jump consistent hash).
pub fn place(id: &str, n: usize) -> usize {
    let mut key = hash(id);
    let (mut b, mut j) = (-1i64, 0i64);
    while j < n as i64 {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b.max(0) as usize
}

impl History for RedisStore {
    fn room(&self, room: &str) -> Result<RoomMeta, StoreError> {
        self.of(room).room(room)
    }

    fn append(&self, msg: NewMessage, done: AppendDone) {
        self.of(&msg.room).append(msg, done);
    }

    fn read(
        &self,
        room: &str,
        range: Range,
        limit: usize,
    ) -> Result<(Vec<Entry>, RoomMeta), StoreError> {
        self.of(room).read(room, range, limit)
    }

    fn list(&self, limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let mut all = Vec::new();
        for s in &self.shards {
            all.extend(s.list(limit)?);
        }
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all.truncate(limit);
        Ok(all)
    }

    fn members(&self, room: &str) -> Result<Option<(String, String)>, StoreError> {
        self.of(room).members(room)
    }

    fn every_room(&self) -> Result<Vec<String>, StoreError> {
        let mut all = Vec::new();
        for s in &self.shards {
            all.extend(s.every_room()?);
        }
        Ok(all)
    }

    fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        if let [one] = &self.shards[..] {
            return one.conversations(user, limit);
        }
        let mut all = Vec::new();
        for s in &self.shards {
            // Each shard's newest `limit`: the newest `limit` of all are among them.
            all.extend(s.conversations(user, limit)?);
        }
        crate::store::most_recent_first(&mut all, limit);
        Ok(all)
    }

    fn ready(&self) -> bool {
        self.shards.iter().all(<Shard as History>::ready)
    }
}

impl Positions for RedisStore {
    fn positions(&self, user: &str) -> Result<Vec<(String, u64)>, StoreError> {
        self.of(user).positions(user)
    }

    fn save_positions(&self, batch: Vec<Position>, done: PositionsDone) {
        if let [one] = &self.shards[..] {
            return one.save_positions(batch, done);
        }
        // A batch per shard (each user's on their shard); `done` once all have answered.
        let mut per: Vec<Vec<Position>> = self.shards.iter().map(|_| Vec::new()).collect();
        for p in batch {
            per[place(&p.user, self.shards.len())].push(p);
        }
        let parts: Vec<(usize, Vec<Position>)> = per
            .into_iter()
            .enumerate()
            .filter(|(_, b)| !b.is_empty())
            .collect();
        let all = Arc::new(Mutex::new((parts.len(), Ok(()), Some(done))));
        for (shard, batch) in parts {
            let all = all.clone();
            self.shards[shard].save_positions(
                batch,
                Box::new(move |result| {
                    let mut all = all.lock().unwrap_or_else(PoisonError::into_inner);
                    all.0 -= 1;
                    if let Err(e) = result {
                        all.1 = Err(e);
                    }
                    if all.0 == 0
                        && let Some(done) = all.2.take()
                    {
                        let result = std::mem::replace(&mut all.1, Ok(()));
                        drop(all);
                        done(result);
                    }
                }),
            );
        }
    }
}

impl Bus for RedisStore {
    fn ready(&self) -> bool {
        self.shards.iter().all(<Shard as Bus>::ready)
    }

    fn online(&self, name: &str) -> Result<bool, StoreError> {
        self.of(name).online(name)
    }

    fn present(&self, room: &str) -> Result<Vec<String>, StoreError> {
        self.of(room).present(room)
    }

    fn attach(&self, sink: Weak<dyn Sink>) {
        for s in &self.shards {
            s.attach(sink.clone());
        }
    }

    fn watch(&self, room: &str) -> Result<(), StoreError> {
        self.of(room).watch(room)
    }

    fn unwatch(&self, room: &str) {
        self.of(room).unwatch(room);
    }

    fn presence(&self, room: &str, name: &str, here: bool) {
        self.of(room).presence(room, name, here);
    }

    fn user(&self, name: &str, here: bool) {
        self.of(name).user(name, here);
    }

    fn direct(&self, to: &str, room: &str, frame: &Frame) {
        self.of(to).direct(to, room, frame);
    }

    fn follow_commits(&self, hook: crate::store::CommitHook) {
        for s in &self.shards {
            s.follow_commits(hook.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_takes_everything_and_a_new_shard_takes_about_its_share() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("room-{i}")).collect();
        assert!(ids.iter().all(|id| place(id, 1) == 0));
        let on = |n: usize| ids.iter().map(|id| place(id, n)).collect::<Vec<_>>();
        let (two, three) = (on(2), on(3));
        let first = two.iter().filter(|s| **s == 0).count();
        assert!(
            (4_500..5_500).contains(&first),
            "{first} of 10,000 on shard 0"
        );
        // From 2 to 3 shards, a room either stays or moves to the new one.
        let moved = two.iter().zip(&three).filter(|(a, b)| a != b).count();
        assert!(two.iter().zip(&three).all(|(a, b)| a == b || *b == 2));
        assert!((2_800..3_900).contains(&moved), "{moved} moved");
    }

    #[test]
    fn sentinel_entries_keep_their_commas() {
        assert_eq!(
            entries("redis://a/, redis+sentinel://s1:1,s2:2/m,redis://b/,"),
            ["redis://a/", "redis+sentinel://s1:1,s2:2/m", "redis://b/"]
        );
        assert_eq!(
            entries("redis+sentinel://s1,s2/m"),
            ["redis+sentinel://s1,s2/m"]
        );
        assert!(entries(" , ").is_empty());
    }

    #[test]
    fn the_hash_is_fixed() {
        // Every node and every version must place an id alike: FNV-1a's published values.
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
