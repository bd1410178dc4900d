//! The v1.2 file routes: `POST /api/rooms/{room}/files?name=NAME` (the body is the file, its
//! `content-type` the declared type) → `201` [`FileInfo`]; `GET /api/files/{id}` (the bytes,
//! with `Range` and caching headers) and `GET /api/files/{id}/thumb` (a PNG thumbnail of an
//! image). Who may upload to a room and read its files: [`may_use`], the check posting and
//! reading use (the token's rooms, a conversation's members; private rooms plug in there).
//!
//! The responses themselves (safe headers, caching, ranges) are `file_response.rs`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use banter_protocol::FileInfo;
use serde::Deserialize;

use super::file_response::serve;
use crate::AppState;
use crate::error::ApiError;
use crate::files::{FileError, Files, kind};
use crate::http_guard::{Caller, caller_of};
use crate::store::files::FileRecord;
use crate::store::{Appended, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{room}/files", post(upload))
        .route("/api/files/{id}", get(file))
        .route("/api/files/{id}/thumb", get(thumb))
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: Option<String>,
    /// Open mode: who uploads.
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    /// Open mode: who reads (needed for a conversation's files).
    user: Option<String>,
}

type PathRejection = axum::extract::rejection::PathRejection;
type QueryRejection = axum::extract::rejection::QueryRejection;

impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::BadRequest(m) => ApiError::BadRequest(m),
            FileError::TooLarge(m) => ApiError::TooLarge(m),
            FileError::NotFound => ApiError::FileNotFound,
            FileError::Quota(wait) => ApiError::RateLimited(wait),
            FileError::Io(m) => ApiError::Internal(m.into()),
            FileError::Store(e) => e.into(),
        }
    }
}

fn files(app: &AppState) -> Result<&Files, ApiError> {
    app.files.as_ref().ok_or(ApiError::NotFound)
}

/// Whether `user` may post to and read `room`: the one check uploads and file reads make, the
/// same as posting and reading messages (a token's `rooms` claim; a conversation's members).
pub async fn may_use(
    app: &AppState,
    caller: &Caller,
    room: &str,
    user: &str,
) -> Result<(), ApiError> {
    app.hub.check_room(room)?;
    if !banter_protocol::is_conversation(room) {
        caller.room(room)?;
    }
    // The rooms' one rule: a conversation's members, a private room's, no one banned.
    crate::rooms::may_read(&app.hub, user, room).await?;
    Ok(())
}

/// Who the caller is for a file: the token's user, or in open mode `?user=` (anyone, for a
/// room's file: open mode trusts names).
fn who(caller: &Caller, asked: Option<&str>, room: &str) -> Result<String, ApiError> {
    match (caller.0.is_none(), asked) {
        (true, None) if !banter_protocol::is_conversation(room) => Ok(String::new()),
        _ => caller.reader(asked),
    }
}

async fn upload(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    room: Result<Path<String>, PathRejection>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileInfo>), ApiError> {
    let caller = caller_of(&app, caller)?;
    let (Path(room), Query(q)) = (room?, query?);
    let files = files(&app)?;
    let user = caller.reader(q.user.as_deref())?;
    let user = app.hub.limits().name(&user)?.to_owned();
    may_use(&app, &caller, &room, &user).await?;
    if !banter_protocol::is_conversation(&room) {
        // Uploading is posting: refused to a muted member too.
        app.hub
            .allow(&room, &user, crate::rooms::access::Act::Post)
            .await?;
    }
    let max = files.config().max_file_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ApiError::TooLarge(format!(
            "a file is at most {max} bytes (--max-file-bytes)"
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(kind::OCTET_STREAM);
    let name = q.name.as_deref().unwrap_or_default();
    let rec = files
        .upload(&room, &user, name, content_type, body.into_data_stream())
        .await?;
    Ok((StatusCode::CREATED, Json(rec.info())))
}

/// The record of `id`, when the caller may read its room.
async fn readable(
    app: &AppState,
    caller: Option<Extension<Caller>>,
    id: &str,
    asked: Option<&str>,
) -> Result<FileRecord, ApiError> {
    let caller = caller_of(app, caller)?;
    let rec = files(app)?.get(id).await?;
    let user = who(&caller, asked, &rec.room)?;
    if let Err(e) = may_use(app, &caller, &rec.room, &user).await {
        // Whether a file exists in a room the caller may not read is not theirs to learn.
        return Err(match e {
            ApiError::Unauthorized(_) => e,
            _ => ApiError::FileNotFound,
        });
    }
    Ok(rec)
}

async fn file(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<ReadQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (Path(id), Query(q)) = (id?, query?);
    let rec = readable(&app, caller, &id, q.user.as_deref()).await?;
    serve(files(&app)?, &rec, &headers, false).await
}

async fn thumb(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<ReadQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (Path(id), Query(q)) = (id?, query?);
    let rec = readable(&app, caller, &id, q.user.as_deref()).await?;
    if !rec.thumb {
        return Err(ApiError::FileNotFound);
    }
    serve(files(&app)?, &rec, &headers, true).await
}

/// `POST /api/rooms/{room}/messages` with `files` (access already checked): the ids must name
/// files of `room`.
pub async fn post_with_files(
    app: &AppState,
    room: &str,
    user: &str,
    body: &banter_protocol::http::PostMessage,
    done: impl FnOnce(Result<Appended, StoreError>) + Send + 'static,
) -> Result<(), ApiError> {
    let infos = files(app)?.for_message(room, &body.files).await?;
    let extra = crate::hub::Extra {
        reply_to: body.reply_to,
        files: infos,
        ..Default::default()
    };
    let cid = body.client_id.as_deref();
    app.hub
        .post_with(room, user, &body.text, cid, extra, done)
        .await?;
    Ok(())
}
