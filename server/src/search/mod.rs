//! Search (`GET /api/search`, issue 17): a full-text index of every message, in a SQLite file of
//! its own, kept up to date by a background indexer and queried with the caller's permissions in
//! the query.
//!
//! - [`index`]: the index file (`words` and `grams` FTS5 indexes over `docs`), its writes.
//! - [`text`]: text as indexed (CJK spacing), snippets as shown (escaped, `<mark>`ed).
//! - [`query`]: the query language (words, last one a prefix; `"phrases"`; `from:`; `in:`).
//! - [`find`]: one search: match, permissions ([`Reader`]), tiers, a page, snippets.
//! - [`rank`]: relevance (BM25 term frequencies) and recency of the candidates.
//! - [`dirty`] and [`indexer`]: the rooms to look at, fed after each commit, and the thread that
//!   indexes them (catching up from the store at start).
//!
//! Where the index lives: `--search-index`, by default `search.db` in `--data-dir` for the
//! SQLite store (kept across starts: the indexer resumes where it was); with `--store redis` or
//! `memory` a file in the temporary directory, made afresh at each start and rebuilt from the
//! store (see docs/deploy.md), removed when the server stops.

pub mod dirty;
pub mod find;
pub mod index;
pub mod indexer;
pub mod query;
pub mod rank;
#[cfg(test)]
mod tests;
pub mod text;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use banter_protocol::http::SearchResults;
use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::config::search::SearchConfig;
use crate::store::{COMMITS_LOST, Store, StoreError};
pub use dirty::Dirty;
pub use find::{Page, Reader};
pub use indexer::{Entry, Indexer};
pub use query::{Query, QueryError};

/// Searches at once (each holds a reader of the index file); more wait their turn.
const SEARCHES: usize = 4;

/// Why a search or the index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{0}")]
    BadCursor(String),
    #[error("search index: {0}")]
    Failed(String),
}

impl From<rusqlite::Error> for SearchError {
    fn from(e: rusqlite::Error) -> Self {
        SearchError::Failed(e.to_string())
    }
}

impl From<StoreError> for SearchError {
    fn from(e: StoreError) -> Self {
        SearchError::Failed(e.to_string())
    }
}

/// The search side of the server: see the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Search {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// Made for this process only: removed on drop.
    scratch: bool,
    readers: Mutex<Vec<Connection>>,
    calls: Semaphore,
    dirty: Arc<Dirty>,
    cfg: SearchConfig,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dirty.stop();
        if self.scratch {
            let _ = index::remove(&self.path);
        }
    }
}

/// Where the index of a server with these settings lives, and whether it is this process's own
/// (a scratch file).
pub fn index_path(cfg: &SearchConfig, store_kind: &str, data_dir: &Path) -> (PathBuf, bool) {
    match (&cfg.search_index, store_kind) {
        (Some(p), _) => (p.clone(), false),
        (None, "sqlite") => (data_dir.join("search.db"), false),
        (None, _) => {
            let name = format!(
                "{SCRATCH}{}-{}.db",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            );
            (std::env::temp_dir().join(name), true)
        }
    }
}

/// How a scratch index's file name begins (then the pid of the process it belongs to).
const SCRATCH: &str = "banter-search-";

/// Removes the scratch indexes of processes that are gone (killed before they could remove
/// their own). Where `/proc` cannot tell (not Linux), nothing is removed.
fn sweep_scratch(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().filter(|p| p.parse::<u32>().is_ok()) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl Search {
    /// Opens the index and starts the indexer on `store`'s history; `store` then tells it of
    /// every commit (see [`Store::on_commit`]).
    pub fn start(
        cfg: &SearchConfig,
        store: &Store,
        store_kind: &str,
        data_dir: &Path,
    ) -> Result<Self, SearchError> {
        let (path, scratch) = index_path(cfg, store_kind, data_dir);
        if scratch {
            sweep_scratch(&std::env::temp_dir());
            index::remove(&path)?;
        }
        let conn = index::open_writer(&path)?;
        let reader = index::open_reader(&path)?;
        let dirty = Arc::new(Dirty::default());
        let indexer = Indexer::new(conn, store.history().clone(), cfg.search_batch);
        let feed = dirty.clone();
        let nice = cfg.search_indexer_nice;
        std::thread::Builder::new()
            .name("banter-search".into())
            .spawn(move || {
                lower_priority(nice);
                indexer.run(feed)
            })
            .map_err(|e| SearchError::Failed(e.to_string()))?;
        let hook = Arc::downgrade(&dirty);
        store.on_commit(Arc::new(move |room| {
            if let Some(d) = hook.upgrade() {
                if **room == *COMMITS_LOST {
                    d.touch_all();
                } else {
                    d.touch(room);
                }
            }
        }));
        Ok(Search {
            inner: Arc::new(Inner {
                path,
                scratch,
                readers: Mutex::new(vec![reader]),
                calls: Semaphore::new(SEARCHES),
                dirty,
                cfg: cfg.clone(),
            }),
        })
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The settings it runs with.
    pub fn config(&self) -> &SearchConfig {
        &self.inner.cfg
    }

    /// Searches `q` as `reader` may: a page of `limit` from `cursor` (off the async workers).
    pub async fn search(
        &self,
        q: &str,
        room: Option<String>,
        reader: Reader,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<SearchResults, SearchError> {
        let cfg = &self.inner.cfg;
        let mut query = query::parse(q, cfg.search_max_query_chars, cfg.search_max_terms)?;
        if let Some(room) = room {
            if query.room.as_ref().is_some_and(|r| *r != room) {
                // `room=` and `in:` disagree: nothing can be in both.
                return Ok(SearchResults {
                    results: Vec::new(),
                    next: None,
                });
            }
            query.room = Some(room);
        }
        let mut page = parse_cursor(cursor, limit, cfg.search_max_offset)?;
        page.window = cfg.search_rank_window;
        let _permit = self
            .inner
            .calls
            .acquire()
            .await
            .map_err(|e| SearchError::Failed(e.to_string()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.run(&query, &reader, &page))
            .await
            .map_err(|e| SearchError::Failed(e.to_string()))?
    }

    fn run(
        &self,
        query: &Query,
        reader: &Reader,
        page: &Page,
    ) -> Result<SearchResults, SearchError> {
        let pooled = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => index::open_reader(&self.inner.path)?,
        };
        let mut page = page.clone();
        let found =
            newest_id(&conn, &mut page).and_then(|()| find::run(&conn, query, reader, &page));
        let mut pool = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pool.len() < SEARCHES {
            pool.push(conn);
        }
        drop(pool);
        let mut results = found?;
        let more = results.len() > page.limit;
        results.truncate(page.limit);
        let offset = page.offset + page.limit;
        let next = (more && offset < self.inner.cfg.search_max_offset)
            .then(|| format!("{offset}.{}.{}", page.now, page.upto));
        Ok(SearchResults { results, next })
    }
}

/// Gives the calling thread (the indexer) the nice value `nice`: on Linux a thread's own (with
/// `PRIO_PROCESS` and no pid, `setpriority` sets the calling thread's only). Best effort.
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice > 0
        && let Err(e) = rustix::process::setpriority_process(None, nice)
    {
        tracing::debug!(error = %e, "search indexer: cannot lower its priority");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// A first page ranks what the index holds now: up to its newest id (later pages keep it).
fn newest_id(conn: &Connection, page: &mut Page) -> rusqlite::Result<()> {
    if page.upto == UNBOUNDED {
        page.upto = conn.query_row("SELECT coalesce(max(id), 0) FROM docs", [], |r| r.get(0))?;
    }
    Ok(())
}

/// A first page's bound before [`newest_id`] sets it (and a cursor of an older build's).
const UNBOUNDED: i64 = i64::MAX;

/// A page from its cursor (`OFFSET.NOW.UPTO`; none: the first page, ranked as of now).
fn parse_cursor(
    cursor: Option<&str>,
    limit: usize,
    max_offset: usize,
) -> Result<Page, SearchError> {
    let bad = || SearchError::BadCursor("`cursor` is not one this server gave".into());
    let (offset, now, upto) = match cursor {
        None => (0, crate::store::now_ms(), UNBOUNDED),
        Some(c) => {
            let mut parts = c.splitn(3, '.');
            let num = |what: Option<&str>| what.ok_or_else(bad)?.parse::<u64>().map_err(|_| bad());
            let (o, n) = (num(parts.next())?, num(parts.next())?);
            let u = match parts.next() {
                Some(u) => i64::try_from(num(Some(u))?).map_err(|_| bad())?,
                None => UNBOUNDED,
            };
            (usize::try_from(o).map_err(|_| bad())?, n, u)
        }
    };
    if offset > max_offset {
        return Err(bad());
    }
    Ok(Page {
        offset,
        limit,
        now,
        upto,
        window: 0,
    })
}
