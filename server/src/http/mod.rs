//! The HTTP API: `/api/rooms...`, and the operator's endpoints `/healthz` (liveness), `/readyz`
//! (readiness, see [`crate::ready`]) and `/metrics` (Prometheus, see [`crate::metrics`]).
//! Handlers are thin: they call the hub, through the same
//! [`Hub::post`](crate::hub::Hub::post) a WebSocket `send` takes. Store reads are awaited (the
//! store runs them on tokio's blocking pool, see [`crate::store::handle`]), never blocking a task
//! that serves sockets. Who the caller is (token mode) and the
//! request rate are settled before, by [`crate::http_guard`].

mod lifecycle;
mod rooms;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json, Router};
use banter_protocol::http::{ConversationList, Health, MessagePage, PostMessage, RoomList};
use serde::Deserialize;
use tokio::sync::oneshot;

pub mod search;

use crate::AppState;
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};
use crate::store::Range;

/// Default and largest `limit` of `GET /api/rooms/{room}/messages`.
pub const PAGE_DEFAULT: usize = 100;
pub const PAGE_MAX: usize = 1000;

/// The most rooms `GET /api/rooms` lists.
pub const ROOMS_MAX: usize = 1000;

/// The most conversations `GET /api/conversations` lists.
pub const CONVERSATIONS_MAX: usize = 1000;

pub mod accounts;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .route("/api/rooms", get(rooms).post(rooms::create))
        .route(
            "/api/conversations",
            get(conversations).post(rooms::create_group),
        )
        .route(
            "/api/rooms/{room}/messages",
            get(messages).post(post_message),
        )
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .merge(search::router())
        .merge(lifecycle::router())
        .merge(rooms::router())
}

async fn rooms(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    query: Result<Query<WhoQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RoomList>, ApiError> {
    let caller = caller_of(&app, caller)?;
    let Query(q) = query?;
    // A token's `rooms` claim filters in the store's query, before the cut to ROOMS_MAX.
    let only = caller.rooms_claim();
    // v1.2: private rooms only to their members (and admins), never a room one is banned
    // from, never group conversations (they are listed in /api/conversations).
    let viewer = match (&caller.0, q.user.as_deref()) {
        (None, None) => String::new(),
        (_, asked) => caller.reader(asked)?,
    };
    let (hidden, private) = rooms::visibility(&app, &viewer).await?;
    let mut list = app
        .hub
        .rooms(ROOMS_MAX + hidden.len(), only.as_deref())
        .await?;
    list.rooms
        .retain(|r| !banter_protocol::is_group(&r.room) && hidden.binary_search(&r.room).is_err());
    for r in &mut list.rooms {
        r.private = private.binary_search(&r.room).is_ok();
    }
    list.rooms.truncate(ROOMS_MAX);
    Ok(Json(list))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    since: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
    /// Open mode: who reads a private conversation.
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WhoQuery {
    user: Option<String>,
}

/// The caller's private conversations, most recent first.
async fn conversations(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    query: Result<Query<WhoQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConversationList>, ApiError> {
    let caller = caller_of(&app, caller)?;
    let Query(q) = query?;
    let user = caller.reader(q.user.as_deref())?;
    let user = app.hub.limits().name(&user)?.to_owned();
    let mut list = app.hub.conversations(&user, CONVERSATIONS_MAX).await?;
    // v1.2: the user's group conversations too (private rooms `grp-…` where they are members).
    for room in app.hub.store().private_rooms_of(&user).await? {
        if banter_protocol::is_group(&room) {
            list.conversations
                .push(crate::rooms::moderate::summary(&app.hub, &room).await?);
        }
    }
    crate::store::most_recent_first(&mut list.conversations, CONVERSATIONS_MAX);
    Ok(Json(list))
}

/// Checks that `user` is a member of conversation `room`.
async fn member(app: &AppState, room: &str, user: String) -> Result<(), ApiError> {
    app.hub.member(room, &user).await?;
    Ok(())
}

async fn messages(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let caller = caller_of(&app, caller)?;
    let Path(room) = room?;
    let Query(q) = query?;
    app.hub.check_room(&room)?;
    if banter_protocol::is_conversation(&room) {
        member(&app, &room, caller.reader(q.user.as_deref())?).await?;
    } else {
        caller.room(&room)?;
    }
    rooms::readable(&app, &caller, &room, q.user.as_deref()).await?;
    let limit = q.limit.unwrap_or(PAGE_DEFAULT);
    if limit == 0 || limit > PAGE_MAX {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {PAGE_MAX}"
        )));
    }
    let range = match (q.since, q.before) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give `since` or `before`, not both".into(),
            ));
        }
        (_, Some(before)) => Range::Before(before),
        (since, None) => Range::After(since.unwrap_or(0)),
    };
    Ok(Json(app.hub.history(&room, range, limit).await?))
}

/// `201` with the stored message once it is durable; `200` with the original when `client_id`
/// was already seen. In token mode the user is the token's (`user` may be left out; another one
/// is `403`).
async fn post_message(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Json<PostMessage>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let caller = caller_of(&app, caller)?;
    let Path(room) = room?;
    let Json(body) = body?;
    let user = caller.poster(&body.user)?;
    app.hub.check_room(&room)?;
    if banter_protocol::is_conversation(&room) {
        member(&app, &room, user.clone()).await?;
    } else {
        caller.room(&room)?;
    }
    let (tx, rx) = oneshot::channel();
    app.hub
        .post(
            &room,
            &user,
            &body.text,
            body.client_id.as_deref(),
            body.reply_to,
            move |result| {
                let _ = tx.send(result);
            },
        )
        .await?;
    let appended = rx.await.map_err(|e| ApiError::Internal(Box::new(e)))??;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    if !appended.duplicate {
        crate::metrics::message_stored(crate::metrics::Path::Http);
    }
    let Some(msg) = appended.stored.msg().cloned() else {
        return Err(ApiError::BadRequest(
            "this client_id was already used for an edit, a deletion or a reaction".into(),
        ));
    };
    Ok((status, Json(msg)))
}

async fn health(State(app): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        connections: app.hub.connections(),
    })
}

/// `200 ready` when every readiness check passes, else `503` with the failing checks, one a line.
async fn ready(State(app): State<AppState>) -> (StatusCode, String) {
    if app.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into());
    }
    let failures = app.readiness.failures();
    if failures.is_empty() {
        (StatusCode::OK, "ready\n".into())
    } else {
        let mut body = String::from("not ready\n");
        for f in failures {
            body.push_str(&f);
            body.push('\n');
        }
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

/// The Prometheus text exposition format.
async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let rooms = app.hub.rooms_loaded();
    let text = crate::metrics::render(app.hub.connections(), rooms);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
