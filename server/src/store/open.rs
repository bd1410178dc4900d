//! Choosing and building the store: `--store` names a backend (`--redis URL` alone means
//! `--store redis`), and [`open`] builds its history and, for a cluster, its bus.
//!
//! A backend is a folder beside `sqlite/`, `memory/` and `redis/` with a `pub fn open(&Settings)
//! -> Result<Store, StoreError>`, and one line in [`BACKENDS`]: nothing else in the server names
//! a backend.

use std::path::PathBuf;
use std::time::Duration;

use super::{Retention, SqliteSync, Store, StoreError, memory, redis, sqlite};

/// Everything any backend may need, from the server's flags (`Config::store_settings`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--store`: the name of one of [`BACKENDS`].
    pub kind: String,
    /// `--redis`: the Redis a cluster shares.
    pub redis_url: Option<String>,
    /// `--data-dir`: where a durable store keeps its files.
    pub data_dir: PathBuf,
    /// `--sqlite-sync`.
    pub sqlite_sync: SqliteSync,
    /// `--store-queue`: appends waiting at most; more are refused as busy.
    pub queue: usize,
    /// `--store-batch`: appends per commit at most.
    pub batch: usize,
    /// `--store-max-bytes` (0 = no limit).
    pub max_bytes: u64,
    pub retention: Retention,
    /// `--dedupe-window`.
    pub dedupe_window: Duration,
    /// `--dedupe-capacity`: `client_id`s a room remembers at most (memory store).
    pub dedupe_capacity: usize,
    /// `--history`: what the memory store keeps per room (its whole history).
    pub history: usize,
    /// `--max-rooms`: rooms the memory store may hold.
    pub max_rooms: usize,
    /// `--memory-store-bytes`: message bytes the memory store may hold.
    pub memory_bytes: usize,
    /// `--redis-aof-rewrite-after-delete` (0 = never).
    pub aof_rewrite_after_delete: Duration,
}

impl Settings {
    /// Settings for `kind` with the flags' defaults, keeping files in `data_dir`.
    pub fn new(kind: &str, data_dir: PathBuf) -> Self {
        Settings {
            kind: kind.to_owned(),
            redis_url: None,
            data_dir,
            sqlite_sync: SqliteSync::Full,
            queue: 2048,
            batch: 1024,
            max_bytes: 0,
            retention: Retention::default(),
            dedupe_window: Duration::from_secs(300),
            dedupe_capacity: 1000,
            history: 1000,
            max_rooms: 10_000,
            memory_bytes: 256 << 20,
            aof_rewrite_after_delete: Duration::from_secs(60),
        }
    }
}

/// Builds a backend's store from the settings.
pub type Opener = fn(&Settings) -> Result<Store, StoreError>;

/// The backends, by `--store` name: one line each.
pub const BACKENDS: &[(&str, Opener)] = &[
    ("sqlite", sqlite::open),
    ("memory", memory::open),
    ("redis", redis::open),
];

/// The names `--store` accepts.
pub fn names() -> impl Iterator<Item = &'static str> {
    BACKENDS.iter().map(|(name, _)| *name)
}

/// Opens the store `settings.kind` names (for SQLite: creates the directory and file, checks
/// the schema, starts the writer; for Redis: connects, within a tokio runtime). Fails with a
/// sentence saying what to fix.
pub fn open(settings: &Settings) -> Result<Store, StoreError> {
    let Some((_, open)) = BACKENDS.iter().find(|(name, _)| *name == settings.kind) else {
        return Err(StoreError::failed(format!(
            "there is no store named `{}` (--store takes one of: {})",
            settings.kind,
            names().collect::<Vec<_>>().join(", ")
        )));
    };
    open(settings)
}
