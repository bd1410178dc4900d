//! The HTTP API: `/api/rooms...` and `/healthz`. Handlers are thin: they call the hub, through
//! the same [`Hub::post`](crate::hub::Hub::post) a WebSocket `send` takes. Store reads run on
//! tokio's blocking pool, never on a task that serves sockets.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use banter_protocol::ChatMessage;
use banter_protocol::http::{Health, MessagePage, PostMessage, RoomList};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::AppState;
use crate::error::ApiError;
use crate::store::Range;

/// Default and largest `limit` of `GET /api/rooms/{room}/messages`.
pub const PAGE_DEFAULT: usize = 100;
pub const PAGE_MAX: usize = 1000;

/// The most rooms `GET /api/rooms` lists.
pub const ROOMS_MAX: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms", get(rooms))
        .route(
            "/api/rooms/{room}/messages",
            get(messages).post(post_message),
        )
        .route("/healthz", get(health))
}

/// Runs a blocking store call off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(ApiError::from)
}

async fn rooms(State(app): State<AppState>) -> Result<Json<RoomList>, ApiError> {
    Ok(Json(blocking(move || app.hub.rooms(ROOMS_MAX)).await?))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    since: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
}

async fn messages(
    State(app): State<AppState>,
    room: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let Path(room) = room?;
    let Query(q) = query?;
    app.hub.limits().room(&room)?;
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
    Ok(Json(
        blocking(move || app.hub.history(&room, range, limit)).await?,
    ))
}

/// `201` with the stored message once it is durable; `200` with the original when `client_id`
/// was already seen.
async fn post_message(
    State(app): State<AppState>,
    room: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Json<PostMessage>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Path(room) = room?;
    let Json(body) = body?;
    let (tx, rx) = oneshot::channel();
    app.hub.post(
        &room,
        &body.user,
        &body.text,
        body.client_id.as_deref(),
        move |result| {
            let _ = tx.send(result);
        },
    )?;
    let appended = rx.await.map_err(|e| ApiError::Internal(Box::new(e)))??;
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let msg: ChatMessage = appended.stored.msg.clone();
    Ok((status, Json(msg)))
}

async fn health(State(app): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        connections: app.hub.connections(),
    })
}
