//! The v1.2 routes of private rooms and moderation: `POST /api/rooms` (create, the caller its
//! owner), `GET /api/rooms/{room}/members`, `PUT` / `DELETE /api/rooms/{room}/members/{user}`
//! (add or change a role / remove), `PUT` / `DELETE .../bans/{user}` (ban / lift it), `PUT` /
//! `DELETE .../mutes/{user}` (mute / unmute), `PATCH /api/rooms/{room}` (private or public), and `POST /api/conversations` (a group
//! conversation). Who acts is the token's user, or in open mode the `?user=` the request names.
//! Moderation answers `201 {"room", "seq"}` with the moderation entry's `seq`, or `200` with
//! `seq: 0` when nothing changed. The rules are `crate::rooms::access`; the work
//! `crate::rooms::moderate`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, put};
use axum::{Extension, Json, Router};
use banter_protocol::ChangeKind;
use banter_protocol::http::{
    ConversationSummary, CreateRoom, Member, MemberList, NewConversation, Posted, RoomSummary,
    SetPrivacy, SetRole,
};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};
use crate::rooms::access::Act;
use crate::rooms::{moderate, privacy};

type PathRejection = axum::extract::rejection::PathRejection;
type QueryRejection = axum::extract::rejection::QueryRejection;
type JsonRejection = axum::extract::rejection::JsonRejection;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room}", patch(set_privacy))
        .route("/api/rooms/{room}/members", get(members))
        .route(
            "/api/rooms/{room}/members/{user}",
            put(set_role).delete(remove),
        )
        .route("/api/rooms/{room}/bans/{user}", put(ban).delete(unban))
        .route("/api/rooms/{room}/mutes/{user}", put(mute).delete(unmute))
}

#[derive(Debug, Deserialize)]
pub struct WhoQuery {
    /// Open mode: who acts.
    user: Option<String>,
}

fn who(
    app: &AppState,
    caller: Option<Extension<Caller>>,
    query: Result<Query<WhoQuery>, QueryRejection>,
) -> Result<String, ApiError> {
    let caller = caller_of(app, caller)?;
    let Query(q) = query?;
    caller.reader(q.user.as_deref())
}

/// `POST /api/rooms`: `201` with the new room.
pub async fn create(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    query: Result<Query<WhoQuery>, QueryRejection>,
    body: Result<Json<CreateRoom>, JsonRejection>,
) -> Result<(StatusCode, Json<RoomSummary>), ApiError> {
    let user = who(&app, caller.clone(), query)?;
    let Json(body) = body?;
    caller_of(&app, caller)?.room(&body.room)?;
    let made = moderate::create(&app.hub, &body.room, body.private, &user).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// `POST /api/conversations`: `201` with the new group conversation, `200` with the one these
/// people already have.
pub async fn create_group(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    query: Result<Query<WhoQuery>, QueryRejection>,
    body: Result<Json<NewConversation>, JsonRejection>,
) -> Result<(StatusCode, Json<ConversationSummary>), ApiError> {
    let user = who(&app, caller, query)?;
    let Json(body) = body?;
    let (summary, created) = moderate::group(&app.hub, &user, &body.members).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(summary)))
}

/// `PATCH /api/rooms/{room}` `{"private": bool}` (owners and server admins): `201` with the
/// entry's `seq`, `200` with `seq: 0` when the room already was so.
async fn set_privacy(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: Result<Path<String>, PathRejection>,
    query: Result<Query<WhoQuery>, QueryRejection>,
    body: Result<Json<SetPrivacy>, JsonRejection>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let actor = who(&app, caller.clone(), query)?;
    let Path(room) = room?;
    let Json(body) = body?;
    // A token limited to some rooms acts only in those.
    caller_of(&app, caller)?.room(&room)?;
    let seq = privacy::set_privacy(&app.hub, &room, &actor, body.private).await?;
    let status = if seq == 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(Posted { room, seq })))
}

async fn members(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: Result<Path<String>, PathRejection>,
    query: Result<Query<WhoQuery>, QueryRejection>,
) -> Result<Json<MemberList>, ApiError> {
    let user = who(&app, caller, query)?;
    let Path(room) = room?;
    app.hub.check_room(&room)?;
    app.hub.allow(&room, &user, Act::Read).await?;
    let a = app.hub.store().access(&room).await?;
    let mut members: Vec<Member> = a
        .users
        .iter()
        .filter(|(_, s)| s.role.is_some() || (s.muted && !a.private))
        .map(|(u, s)| Member {
            user: u.clone(),
            role: s.role.unwrap_or_default(),
            muted: s.muted,
        })
        .collect();
    members.sort_by(|x, y| y.role.cmp(&x.role).then_with(|| x.user.cmp(&y.user)));
    Ok(Json(MemberList {
        room,
        members,
        private: a.private,
        banned: a
            .users
            .iter()
            .filter(|(_, s)| s.banned)
            .map(|(u, _)| u.clone())
            .collect(),
    }))
}

/// Carries out `kind` on `(room, subject)` for the caller.
async fn act(
    app: &AppState,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<WhoQuery>, QueryRejection>,
    kind: ChangeKind,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let actor = who(app, caller.clone(), query)?;
    let Path((room, subject)) = path?;
    caller_of(app, caller)?.room(&room)?;
    let seq = moderate::act(&app.hub, &room, &actor, kind, &subject).await?;
    let status = if seq == 0 {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(Posted { room, seq })))
}

async fn set_role(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<WhoQuery>, QueryRejection>,
    body: Option<Json<SetRole>>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let role = body.map(|Json(b)| b.role).unwrap_or_default();
    let kind = ChangeKind::of_role(role);
    act(&app, caller, path, query, kind).await
}

macro_rules! route {
    ($name:ident, $kind:expr) => {
        async fn $name(
            State(app): State<AppState>,
            caller: Option<Extension<Caller>>,
            path: Result<Path<(String, String)>, PathRejection>,
            query: Result<Query<WhoQuery>, QueryRejection>,
        ) -> Result<(StatusCode, Json<Posted>), ApiError> {
            act(&app, caller, path, query, $kind).await
        }
    };
}

route!(remove, ChangeKind::Remove);
route!(ban, ChangeKind::Ban);
route!(unban, ChangeKind::Unban);
route!(mute, ChangeKind::Mute);
route!(unmute, ChangeKind::Unmute);

/// Refuses a reader who may not read `room` (`403 forbidden`, the same whether or not it
/// exists): the token's user, or in open mode the `?user=` named (none: anyone, which public
/// rooms admit).
pub async fn readable(
    app: &AppState,
    caller: &Caller,
    room: &str,
    asked: Option<&str>,
) -> Result<(), ApiError> {
    let user = match (&caller.0, asked) {
        (None, None) => String::new(),
        _ => caller.reader(asked)?,
    };
    app.hub.allow(room, &user, Act::Read).await?;
    Ok(())
}

/// What `viewer` (empty: anyone) may not see listed, and which of the rooms they see are
/// private, both sorted: by the rule's store query ([`crate::store::RoomMembers::hidden_from`]);
/// an admin sees every room.
pub async fn visibility(
    app: &AppState,
    viewer: &str,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let store = app.hub.store();
    // Every private room: those that the empty name, which has no standing anywhere (and so
    // no ban), may not read.
    let all_private = store.hidden_from("").await?;
    let mut hidden = if app.hub.is_admin(viewer) {
        Vec::new()
    } else {
        store.hidden_from(viewer).await?
    };
    hidden.sort();
    let mut private = all_private;
    private.sort();
    Ok((hidden, private))
}
