//! Search flags (issue 17): where the index lives, how the indexer batches, and the limits of a
//! query. See `server/src/search/`.

use std::path::PathBuf;

/// `--search-*`.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchConfig {
    /// Keep a search index and answer `GET /api/search` (`false`: no index, no indexer, and
    /// the route answers 404).
    #[arg(long = "search", env = "BANTER_SEARCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub search_on: bool,

    /// The search index's SQLite file. Default: `search.db` in --data-dir with the SQLite store
    /// (kept: the indexer resumes where it stopped); with `--store redis` or `memory`, a file in
    /// the temporary directory rebuilt from the store at each start and removed at exit.
    #[arg(long, env = "BANTER_SEARCH_INDEX")]
    pub search_index: Option<PathBuf>,

    /// Entries the indexer writes per transaction at most.
    #[arg(long, env = "BANTER_SEARCH_BATCH", default_value_t = 5000)]
    pub search_batch: usize,

    /// The indexer thread's nice value (0–19; Linux): above 0 it yields the CPU to posting and
    /// fan-out when the machine is busy, and catches up when it is not.
    #[arg(long, env = "BANTER_SEARCH_INDEXER_NICE", default_value_t = 19,
          value_parser = clap::value_parser!(i32).range(0..=19))]
    pub search_indexer_nice: i32,

    /// Longest search query, in characters.
    #[arg(long, env = "BANTER_SEARCH_MAX_QUERY_CHARS", default_value_t = 256)]
    pub search_max_query_chars: usize,

    /// Words and phrases in one search query at most.
    #[arg(long, env = "BANTER_SEARCH_MAX_TERMS", default_value_t = 16)]
    pub search_max_terms: usize,

    /// Results one page of `GET /api/search` holds at most (`limit`); 20 when not asked.
    #[arg(long, env = "BANTER_SEARCH_PAGE_MAX", default_value_t = 100)]
    pub search_page_max: usize,

    /// Matches a search ranks at most, the newest ones (per index, after the permission
    /// filter): a query over a common word ranks its newest N by relevance and recency instead
    /// of all of them. At least a page's depth (`--search-max-offset` + a page) is always read.
    #[arg(long, env = "BANTER_SEARCH_RANK_WINDOW", default_value_t = 1000)]
    pub search_rank_window: usize,

    /// How deep pages go: results past this many are not served (a `cursor` stops there).
    #[arg(long, env = "BANTER_SEARCH_MAX_OFFSET", default_value_t = 1000)]
    pub search_max_offset: usize,
}
