//! The v1.2 lifecycle routes: `PATCH` / `DELETE /api/rooms/{room}/messages/{seq}` (edit,
//! delete), `PUT` / `DELETE .../messages/{seq}/reactions/{emoji}` (react, take back) and
//! `GET /api/rooms/{room}/threads/{seq}`. A change goes through [`Hub::change`], the path a
//! WebSocket `edit`, `delete` or `react` takes; who makes it is the token's user, or in open
//! mode the `?user=` the request names (as for reading a conversation). The token's rooms and a
//! conversation's members are checked as for posting and reading.
//!
//! [`Hub::change`]: crate::hub::Hub::change

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, put};
use axum::{Extension, Json, Router};
use banter_protocol::ChangeKind;
use banter_protocol::http::{EditMessage, Posted, ThreadPage};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::AppState;
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};
use crate::hub::ChangeRequest;

/// Default and largest number of replies `GET .../threads/{seq}` returns.
pub const THREAD_DEFAULT: usize = 100;
pub const THREAD_MAX: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/rooms/{room}/messages/{seq}",
            patch(edit).delete(delete),
        )
        .route(
            "/api/rooms/{room}/messages/{seq}/reactions/{emoji}",
            put(react).delete(unreact),
        )
        .route("/api/rooms/{room}/threads/{seq}", get(thread))
}

#[derive(Debug, Deserialize)]
struct ChangeQuery {
    /// Open mode: who makes the change.
    user: Option<String>,
    /// Optional idempotency key (the body's, for `PATCH`).
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ThreadQuery {
    limit: Option<usize>,
    /// The replies after this `seq` (the last one of the page before).
    after: Option<u64>,
    /// Open mode: who reads a private conversation.
    user: Option<String>,
}

type PathRejection = axum::extract::rejection::PathRejection;
type QueryRejection = axum::extract::rejection::QueryRejection;

/// Who may act in `room`: the token's rooms, or a conversation's members.
async fn allowed(app: &AppState, caller: &Caller, room: &str, user: &str) -> Result<(), ApiError> {
    app.hub.check_room(room)?;
    if banter_protocol::is_conversation(room) {
        app.hub.member(room, user).await?;
    } else {
        caller.room(room)?;
    }
    Ok(())
}

/// Appends a change and answers with its `seq` (`201`), or `200` when it stored nothing new
/// (a repeated `client_id`, or a change that changes nothing: `seq` 0).
async fn apply(
    app: &AppState,
    caller: Option<Extension<Caller>>,
    room: &str,
    user: Option<&str>,
    req: ChangeRequest<'_>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let caller = caller_of(app, caller)?;
    let user = caller.reader(user)?;
    allowed(app, &caller, room, &user).await?;
    let (tx, rx) = oneshot::channel();
    let req = ChangeRequest { user: &user, ..req };
    app.hub
        .change(req, move |result| {
            let _ = tx.send(result);
        })
        .await?;
    let a = rx.await.map_err(|e| ApiError::Internal(Box::new(e)))??;
    let status = if a.duplicate || a.noop {
        StatusCode::OK
    } else {
        crate::metrics::message_stored(crate::metrics::Path::Http);
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(Posted {
            room: room.to_owned(),
            seq: a.ack_seq(),
        }),
    ))
}

fn request<'a>(room: &'a str, target: u64, kind: ChangeKind) -> ChangeRequest<'a> {
    ChangeRequest {
        room,
        user: "",
        target,
        kind,
        text: "",
        emoji: "",
        client_id: None,
    }
}

async fn edit(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, u64)>, PathRejection>,
    query: Result<Query<ChangeQuery>, QueryRejection>,
    body: Result<Json<EditMessage>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let (Path((room, seq)), Query(q), Json(body)) = (path?, query?, body?);
    let client_id = body.client_id.as_deref().or(q.client_id.as_deref());
    let req = ChangeRequest {
        text: &body.text,
        client_id,
        ..request(&room, seq, ChangeKind::Edit)
    };
    apply(&app, caller, &room, q.user.as_deref(), req).await
}

async fn delete(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, u64)>, PathRejection>,
    query: Result<Query<ChangeQuery>, QueryRejection>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let (Path((room, seq)), Query(q)) = (path?, query?);
    let req = ChangeRequest {
        client_id: q.client_id.as_deref(),
        ..request(&room, seq, ChangeKind::Delete)
    };
    apply(&app, caller, &room, q.user.as_deref(), req).await
}

async fn reaction(
    app: AppState,
    caller: Option<Extension<Caller>>,
    (room, seq, emoji): (String, u64, String),
    q: ChangeQuery,
    kind: ChangeKind,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let req = ChangeRequest {
        emoji: &emoji,
        client_id: q.client_id.as_deref(),
        ..request(&room, seq, kind)
    };
    apply(&app, caller, &room, q.user.as_deref(), req).await
}

async fn react(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, u64, String)>, PathRejection>,
    query: Result<Query<ChangeQuery>, QueryRejection>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let (Path(p), Query(q)) = (path?, query?);
    reaction(app, caller, p, q, ChangeKind::React).await
}

async fn unreact(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, u64, String)>, PathRejection>,
    query: Result<Query<ChangeQuery>, QueryRejection>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let (Path(p), Query(q)) = (path?, query?);
    reaction(app, caller, p, q, ChangeKind::Unreact).await
}

/// The thread of message `seq`: its root and replies, folded. `404 not_found` when the room
/// does not hold the root.
async fn thread(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, u64)>, PathRejection>,
    query: Result<Query<ThreadQuery>, QueryRejection>,
) -> Result<Json<ThreadPage>, ApiError> {
    let caller = caller_of(&app, caller)?;
    let (Path((room, seq)), Query(q)) = (path?, query?);
    app.hub.check_room(&room)?;
    if banter_protocol::is_conversation(&room) {
        let user = caller.reader(q.user.as_deref())?;
        app.hub.member(&room, &user).await?;
    } else {
        caller.room(&room)?;
    }
    super::rooms::readable(&app, &caller, &room, q.user.as_deref()).await?;
    let limit = q.limit.unwrap_or(THREAD_DEFAULT).clamp(1, THREAD_MAX);
    let after = q.after.unwrap_or(0);
    let (found, meta) = app.hub.thread(&room, seq, after, limit).await?;
    let Some((root, replies)) = found else {
        return Err(crate::hub::lifecycle_refused(&crate::store::Refusal::NotFound).into());
    };
    Ok(Json(ThreadPage {
        room,
        root,
        replies,
        epoch: meta.epoch.to_string(),
    }))
}
