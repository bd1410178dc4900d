//! Web Push routes (v1.2 "Notifications"): `GET /api/push/key` (the VAPID public key),
//! `POST`/`DELETE /api/push/subscriptions` (a browser's `PushSubscription` JSON; the endpoint is
//! checked against SSRF, see [`crate::push::endpoint`]), and the user's settings: `GET`/`PUT
//! /api/push/settings` (previews on or off) and `PUT`/`DELETE /api/push/mutes/{room}`. The user
//! is the token's; in open mode `?user=NAME`. With `--push false` every route answers 404.
//! The service worker is served at [`SERVICE_WORKER`] (outside `/api`, no token).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use banter_protocol::http::{PushKey, PushSettings, PushSubscription};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};
use crate::push::{self, Push};

/// Longest endpoint URL taken.
pub const MAX_ENDPOINT_BYTES: usize = 2048;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/push/key", get(key))
        .route(
            "/api/push/subscriptions",
            post(subscribe).delete(unsubscribe),
        )
        .route("/api/push/settings", get(settings).put(set_settings))
        .route("/api/push/mutes/{room}", put(mute).delete(unmute))
        .route(SERVICE_WORKER, get(service_worker))
}

/// Where the web app's service worker is served: at the root, so its scope is the whole app.
pub const SERVICE_WORKER: &str = "/push-sw.js";

/// The service worker (`server/src/push/sw.js`): shows pushes, opens their room on a click.
async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("service-worker-allowed"), "/"),
        ],
        include_str!("../push/sw.js"),
    )
}

#[derive(Debug, Deserialize)]
struct WhoQuery {
    user: Option<String>,
}

fn service(app: &AppState) -> Result<&Push, ApiError> {
    app.push.as_ref().ok_or(ApiError::NotFound)
}

/// The user the request is for (see the module docs), checked as a name.
fn user_of(
    app: &AppState,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
) -> Result<String, ApiError> {
    let caller = caller_of(app, caller)?;
    let Query(who) = who?;
    let name = caller.reader(who.user.as_deref())?;
    Ok(app.hub.limits().name(&name)?.to_owned())
}

async fn key(State(app): State<AppState>) -> Result<Json<PushKey>, ApiError> {
    let vapid = service(&app)?.vapid().await?;
    Ok(Json(PushKey {
        key: vapid.public().to_owned(),
    }))
}

async fn subscribe(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
    body: Result<Json<PushSubscription>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let push = service(&app)?;
    // A push may carry any room's preview: a token limited to some rooms may not subscribe.
    if caller
        .as_ref()
        .is_some_and(|Extension(c)| c.rooms_claim().is_some())
    {
        return Err(ApiError::Denied(
            "a token limited to some rooms cannot subscribe to pushes".into(),
        ));
    }
    let user = user_of(&app, caller, who)?;
    let Json(sub) = body?;
    if sub.endpoint.len() > MAX_ENDPOINT_BYTES {
        return Err(ApiError::BadRequest(format!(
            "the endpoint is longer than {MAX_ENDPOINT_BYTES} bytes"
        )));
    }
    push::check_keys(&sub).map_err(ApiError::BadRequest)?;
    push.endpoints()
        .check(&sub.endpoint)
        .await
        .map_err(ApiError::BadRequest)?;
    let max = push.config().push_max_subscriptions;
    let stored = app
        .hub
        .store()
        .push(move |p| p.subscribe(&user, &sub, max))
        .await?;
    if !stored {
        return Err(ApiError::Denied(format!(
            "you have {max} push subscriptions already: remove one first"
        )));
    }
    Ok(StatusCode::CREATED)
}

async fn unsubscribe(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
    body: Result<Json<PushSubscription>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    service(&app)?;
    let user = user_of(&app, caller, who)?;
    let Json(sub) = body?;
    app.hub
        .store()
        .push(move |p| p.unsubscribe(&user, &sub.endpoint))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn settings(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
) -> Result<Json<PushSettings>, ApiError> {
    service(&app)?;
    let user = user_of(&app, caller, who)?;
    let s = app.hub.store().push(move |p| p.settings(&user)).await?;
    Ok(Json(s))
}

async fn set_settings(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
    body: Result<Json<PushSettings>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    service(&app)?;
    let user = user_of(&app, caller, who)?;
    let Json(s) = body?;
    app.hub
        .store()
        .push(move |p| p.set_previews(&user, s.previews))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_mute(
    app: AppState,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
    room: Result<Path<String>, PathRejection>,
    muted: bool,
) -> Result<StatusCode, ApiError> {
    service(&app)?;
    let user = user_of(&app, caller, who)?;
    let Path(room) = room?;
    app.hub.check_room(&room)?;
    app.hub
        .store()
        .push(move |p| p.set_muted(&user, &room, muted))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn mute(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
    room: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    set_mute(app, caller, who, room, true).await
}

async fn unmute(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Result<Query<WhoQuery>, QueryRejection>,
    room: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    set_mute(app, caller, who, room, false).await
}
