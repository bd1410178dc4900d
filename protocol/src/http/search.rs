//! v1.2 search: `GET /api/search?q=TEXT&room=ROOM&limit=N&cursor=C`.

use serde::{Deserialize, Serialize};

/// One match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub room: String,
    pub seq: u64,
    pub user: String,
    pub text: String,
    pub ts: u64,
    /// The matching part of `text`, with matches wrapped in `<mark>` and `</mark>` (every other
    /// character HTML-escaped, so a client may show it as markup).
    pub snippet: String,
}

/// Answer of `GET /api/search`: best matches first, only from messages the caller may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
