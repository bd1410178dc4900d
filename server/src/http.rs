//! The HTTP API: `/api/rooms...`, and the operator's endpoints `/healthz` (liveness), `/readyz`
//! (readiness, see [`crate::ready`]) and `/metrics` (Prometheus, see [`crate::metrics`]). Handlers are thin: they call the hub, through
//! the same [`Hub::post`](crate::hub::Hub::post) a WebSocket `send` takes.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use banter_protocol::ChatMessage;
use banter_protocol::http::{Health, MessagePage, PostMessage, RoomList};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;

/// Default and largest `limit` of `GET /api/rooms/{room}/messages`.
pub const PAGE_DEFAULT: usize = 100;
pub const PAGE_MAX: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms", get(rooms))
        .route(
            "/api/rooms/{room}/messages",
            get(messages).post(post_message),
        )
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

async fn rooms(State(app): State<AppState>) -> Json<RoomList> {
    Json(app.hub.rooms())
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    #[serde(default)]
    since: u64,
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
    Ok(Json(app.hub.history(&room, q.since, limit)))
}

/// `201` with the stored message; `200` with the original when `client_id` was already seen.
async fn post_message(
    State(app): State<AppState>,
    room: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Json<PostMessage>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Path(room) = room?;
    let Json(body) = body?;
    let posted = app
        .hub
        .post(&room, &body.user, &body.text, body.client_id.as_deref())?;
    let status = if posted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    if !posted.duplicate {
        crate::metrics::message_stored(crate::metrics::Path::Http);
    }
    let msg: ChatMessage = posted.stored.msg.clone();
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
    let rooms = app.hub.rooms().rooms.len();
    let text = crate::metrics::render(app.hub.connections(), rooms);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
