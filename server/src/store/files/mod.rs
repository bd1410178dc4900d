//! [`FileMetas`]: what the store keeps about each uploaded file (v1.2, issue 19): its room,
//! name, size, type, image size, uploader, SHA-256 (the bytes' address in the file store, see
//! [`crate::files`]), when it was uploaded, and which messages of its room use it (`refs`, by
//! `seq`). The bytes themselves are never here.
//!
//! A file belongs to one room. A message attaches it ([`FileMetas::attach`]); a deletion or
//! retention detaches it ([`FileMetas::detach`]); a file no message uses any more is removed,
//! and its bytes too once no other file has the same SHA-256 ([`FileMetas::sha_used`]).
//!
//! Backends: [`sqlite`] (table `files` in `banter.db`, its own connection, like the accounts),
//! [`memory`], and `store/redis/files.rs` (a hash per room on the room's shard, and the id → room index on
//! that shard).

pub mod memory;
pub mod sqlite;

use std::sync::Arc;

use banter_protocol::FileInfo;
use serde::{Deserialize, Serialize};

use super::{Settings, StoreError};

/// One stored file. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: String,
    pub room: String,
    pub name: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub uploader: String,
    /// Hex SHA-256 of the bytes served (after EXIF removal): their key in the file store.
    pub sha256: String,
    /// Upload time, ms since the epoch.
    pub created: u64,
    /// Whether a thumbnail was made (kept under `{sha256}.thumb`).
    #[serde(default)]
    pub thumb: bool,
    /// `seq`s of the messages of `room` that carry this file.
    #[serde(default)]
    pub refs: Vec<u64>,
}

impl FileRecord {
    /// What a client is told of it.
    pub fn info(&self) -> FileInfo {
        FileInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            width: self.width,
            height: self.height,
        }
    }
}

/// See the module docs. Calls may block: callers run them on the blocking pool.
pub trait FileMetas: Send + Sync + 'static {
    /// Stores a new file's record.
    fn put(&self, f: &FileRecord) -> Result<(), StoreError>;

    /// The file `id`, if it exists.
    fn get(&self, id: &str) -> Result<Option<FileRecord>, StoreError>;

    /// Records that message `seq` of `room` carries file `id` (idempotent): in the file's
    /// `refs`, and as a use of the message ([`FileMetas::uses`]).
    fn attach(&self, room: &str, id: &str, seq: u64) -> Result<(), StoreError>;

    /// The files message `seq` of `room` carries (as attached).
    fn uses(&self, room: &str, seq: u64) -> Result<Vec<String>, StoreError>;

    /// Forgets message `seq` of `room` as a user of file `id` (its `refs` and the use);
    /// returns the `seq`s still using it
    /// (`None` when the file does not exist).
    fn detach(&self, room: &str, id: &str, seq: u64) -> Result<Option<Vec<u64>>, StoreError>;

    /// Removes the record of `id`.
    fn remove(&self, room: &str, id: &str) -> Result<(), StoreError>;

    /// Whether any file record has these bytes.
    fn sha_used(&self, sha256: &str) -> Result<bool, StoreError>;

    /// Every file record, for the sweep (up to `limit` after the id `after`, by id).
    fn list(&self, after: &str, limit: usize) -> Result<Vec<FileRecord>, StoreError>;
}

/// A shared file metadata store.
pub type SharedFileMetas = Arc<dyn FileMetas>;

/// The file metadata store of the store `settings` names: SQLite's `banter.db`, the Redis
/// shards, or memory.
pub fn open(settings: &Settings) -> Result<SharedFileMetas, StoreError> {
    let kind = if settings.redis_url.is_some() {
        "redis"
    } else {
        settings.kind.as_str()
    };
    Ok(match kind {
        "sqlite" => Arc::new(sqlite::SqliteFileMetas::open(&settings.data_dir)?),
        "redis" => Arc::new(super::redis::files::RedisFileMetas::open(
            settings.redis_url.as_deref().unwrap_or_default(),
        )?),
        _ => Arc::new(memory::MemoryFileMetas::default()),
    })
}
