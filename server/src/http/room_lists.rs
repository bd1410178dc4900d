//! The caller's room list (issue 17): `GET /api/me/rooms` lists the rooms they are in, `PUT` /
//! `DELETE /api/me/rooms/{room}` puts one on it or takes it off, so every device (and a reload)
//! shows the same rooms. In token mode the list is the token's user's (a `rooms` claim filters
//! it and limits what may be put on it); on an open server it belongs to the name (`?user=`).
//! Private conversations are not on it: they have `GET /api/conversations`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use banter_protocol::http::MyRooms;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me/rooms", get(list))
        .route("/api/me/rooms/{room}", put(add).delete(remove))
}

#[derive(Debug, Deserialize)]
struct WhoQuery {
    user: Option<String>,
}

type Who = Result<Query<WhoQuery>, axum::extract::rejection::QueryRejection>;
type RoomPath = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// The user whose list it is: the token's, else `?user=` (checked as a name).
fn owner(app: &AppState, caller: &Caller, who: Who) -> Result<String, ApiError> {
    let Query(q) = who?;
    let user = caller.reader(q.user.as_deref())?;
    Ok(app.hub.limits().name(&user)?.to_owned())
}

/// A room that may go on a list: a valid room name (not a conversation) the caller may enter.
fn listable(app: &AppState, caller: &Caller, room: RoomPath) -> Result<String, ApiError> {
    let Path(room) = room?;
    if banter_protocol::is_conversation(&room) {
        return Err(ApiError::BadRequest(
            "a conversation is not put on the room list (see GET /api/conversations)".into(),
        ));
    }
    app.hub.check_room(&room)?;
    caller.room(&room)?;
    Ok(room)
}

async fn list(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    who: Who,
) -> Result<Json<MyRooms>, ApiError> {
    let caller = caller_of(&app, caller)?;
    let user = owner(&app, &caller, who)?;
    let mut rooms = app.hub.store().rooms_of(&user).await?;
    rooms.retain(|r| caller.sees(r));
    Ok(Json(MyRooms { rooms }))
}

async fn add(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: RoomPath,
    who: Who,
) -> Result<StatusCode, ApiError> {
    let caller = caller_of(&app, caller)?;
    let room = listable(&app, &caller, room)?;
    let user = owner(&app, &caller, who)?;
    let store = app.hub.store();
    let held = store.rooms_of(&user).await?;
    if held.contains(&room) {
        return Ok(StatusCode::NO_CONTENT);
    }
    let max = app.config.room_lists.max_rooms_per_user;
    if held.len() >= max {
        return Err(ApiError::BadRequest(format!(
            "a room list holds at most {max} rooms (--max-rooms-per-user)"
        )));
    }
    store.set_room(&user, &room, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: RoomPath,
    who: Who,
) -> Result<StatusCode, ApiError> {
    let caller = caller_of(&app, caller)?;
    let room = listable(&app, &caller, room)?;
    let user = owner(&app, &caller, who)?;
    app.hub.store().set_room(&user, &room, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
