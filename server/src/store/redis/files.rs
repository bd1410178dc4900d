//! [`FileMetas`] of `--store redis`: on the room's shard, the hash `banter:files:{ROOM}` (file
//! id → its record as JSON), the set `banter:file-refs:{ROOM}:ID` (the `seq`s of the messages
//! using it), the set `banter:file-uses:{ROOM}:SEQ` (the files message SEQ carries) and the
//! index hash `banter:file-room` (id → room); on the shard of the SHA-256,
//! `banter:file-shas` (SHA-256 → how many files have those bytes). Finding a file by id asks
//! each shard's index (few shards; files are fetched far less than messages).

use std::collections::HashMap;

use redis::Commands;

use super::accounts::Shard;
use super::shards::place;
use crate::store::StoreError;
use crate::store::files::{FileMetas, FileRecord};

const INDEX: &str = "banter:file-room";
const SHAS: &str = "banter:file-shas";

fn files_key(room: &str) -> String {
    format!("banter:files:{{{room}}}")
}

fn refs_key(room: &str, id: &str) -> String {
    format!("banter:file-refs:{{{room}}}:{id}")
}

fn uses_key(room: &str, seq: u64) -> String {
    format!("banter:file-uses:{{{room}}}:{seq}")
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!("files: {e}"))
}

/// See the module docs.
pub struct RedisFileMetas {
    shards: Vec<Shard>,
}

impl RedisFileMetas {
    pub fn open(list: &str) -> Result<Self, StoreError> {
        Ok(RedisFileMetas {
            shards: Shard::all(list)?,
        })
    }

    fn of(&self, key: &str) -> &Shard {
        &self.shards[place(key, self.shards.len())]
    }

    /// The record of `id` in `room`, with its refs.
    fn record(&self, room: &str, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let shard = self.of(room);
        let json: Option<String> = shard.run(|c| c.hget(files_key(room), id))?;
        let Some(json) = json else { return Ok(None) };
        let mut f: FileRecord = serde_json::from_str(&json).map_err(failed)?;
        let mut refs: Vec<u64> = shard.run(|c| c.smembers(refs_key(room, id)))?;
        refs.sort_unstable();
        f.refs = refs;
        Ok(Some(f))
    }
}

impl FileMetas for RedisFileMetas {
    fn put(&self, f: &FileRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(&FileRecord {
            refs: Vec::new(),
            ..f.clone()
        })
        .map_err(failed)?;
        self.of(&f.sha256)
            .run(|c| c.hincr::<_, _, _, i64>(SHAS, &f.sha256, 1))?;
        self.of(&f.room).run(|c| {
            redis::pipe()
                .atomic()
                .hset(files_key(&f.room), &f.id, json)
                .hset(INDEX, &f.id, &f.room)
                .query::<()>(c)
        })
    }

    fn get(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        for shard in &self.shards {
            let room: Option<String> = shard.run(|c| c.hget(INDEX, id))?;
            if let Some(room) = room {
                return self.record(&room, id);
            }
        }
        Ok(None)
    }

    fn attach(&self, room: &str, id: &str, seq: u64) -> Result<(), StoreError> {
        let shard = self.of(room);
        let exists: bool = shard.run(|c| c.hexists(files_key(room), id))?;
        if !exists {
            return Ok(());
        }
        shard.run(|c| {
            redis::pipe()
                .atomic()
                .sadd(refs_key(room, id), seq)
                .sadd(uses_key(room, seq), id)
                .query::<()>(c)
        })
    }

    fn uses(&self, room: &str, seq: u64) -> Result<Vec<String>, StoreError> {
        self.of(room).run(|c| c.smembers(uses_key(room, seq)))
    }

    fn detach(&self, room: &str, id: &str, seq: u64) -> Result<Option<Vec<u64>>, StoreError> {
        let shard = self.of(room);
        let exists: bool = shard.run(|c| c.hexists(files_key(room), id))?;
        if !exists {
            return Ok(None);
        }
        let refs: Vec<u64> = shard.run(|c| {
            redis::pipe()
                .atomic()
                .srem(refs_key(room, id), seq)
                .ignore()
                .srem(uses_key(room, seq), id)
                .ignore()
                .smembers(refs_key(room, id))
                .query::<(Vec<u64>,)>(c)
                .map(|(r,)| r)
        })?;
        Ok(Some(refs))
    }

    fn remove(&self, room: &str, id: &str) -> Result<(), StoreError> {
        let Some(f) = self.record(room, id)? else {
            return Ok(());
        };
        self.of(room).run(|c| {
            redis::pipe()
                .atomic()
                .hdel(files_key(room), id)
                .hdel(INDEX, id)
                .del(refs_key(room, id))
                .query::<()>(c)
        })?;
        self.of(&f.sha256).run(|c| {
            let left: i64 = c.hincr(SHAS, &f.sha256, -1)?;
            if left <= 0 {
                c.hdel::<_, _, ()>(SHAS, &f.sha256)?;
            }
            Ok(())
        })
    }

    fn sha_used(&self, sha256: &str) -> Result<bool, StoreError> {
        let n: Option<i64> = self.of(sha256).run(|c| c.hget(SHAS, sha256))?;
        Ok(n.unwrap_or(0) > 0)
    }

    fn list(&self, after: &str, limit: usize) -> Result<Vec<FileRecord>, StoreError> {
        let mut index: Vec<(String, String)> = Vec::new();
        for shard in &self.shards {
            let all: HashMap<String, String> = shard.run(|c| c.hgetall(INDEX))?;
            index.extend(all.into_iter().filter(|(id, _)| id.as_str() > after));
        }
        index.sort_unstable();
        let mut out = Vec::new();
        for (id, room) in index.into_iter().take(limit) {
            if let Some(f) = self.record(&room, &id)? {
                out.push(f);
            }
        }
        Ok(out)
    }
}
