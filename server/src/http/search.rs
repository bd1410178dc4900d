//! `GET /api/search?q=TEXT&room=ROOM&limit=N&cursor=C` (v1.2 "Search"): the best matches first,
//! only from messages the caller may read (see [`crate::search::find`]), `next` for the next
//! page. In token mode the reader is the token's user and its `rooms` claim holds; in open mode
//! `?user=NAME` says who reads (conversations are searched only for their members, so without
//! it none is).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use banter_protocol::http::SearchResults;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};
use crate::search::{Reader, SearchError};

/// Results on a page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/search", get(search))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    room: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
    /// Open mode: who searches (for their conversations).
    user: Option<String>,
}

async fn search(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let caller = caller_of(&app, caller)?;
    let Some(index) = &app.search else {
        return Err(ApiError::NotFound);
    };
    let Query(q) = query?;
    let max = index.config().search_page_max;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT.min(max));
    if limit == 0 || limit > max {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {max}"
        )));
    }
    if let Some(room) = &q.room {
        app.hub.check_room(room)?;
    }
    let user = match (&caller.0, q.user.as_deref()) {
        (None, None) => None,
        (_, asked) => Some(app.hub.limits().name(&caller.reader(asked)?)?.to_owned()),
    };
    // v1.2: the rooms this reader may not read (private rooms without a role, bans), by the
    // rooms' rule; the index filters them out inside its query.
    let viewer = user.clone().unwrap_or_default();
    let hidden = if app.hub.is_admin(&viewer) {
        Vec::new()
    } else {
        app.hub.store().hidden_from(&viewer).await?
    };
    let reader = Reader {
        user,
        rooms: caller.rooms_claim().map(|r| r.to_vec()),
        hidden,
    };
    if q.q.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "give `q`: words, \"phrases\", from:NAME or in:ROOM".into(),
        ));
    }
    let found = index
        .search(&q.q, q.room, reader, limit, q.cursor.as_deref())
        .await;
    Ok(Json(found.map_err(|e| match e {
        SearchError::Failed(_) => ApiError::Internal(Box::new(e)),
        e => ApiError::BadRequest(e.to_string()),
    })?))
}
