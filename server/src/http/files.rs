//! The v1.2 file routes: `POST /api/rooms/{room}/files?name=NAME` (the body is the file, its
//! `content-type` the declared type) → `201` [`FileInfo`]; `GET /api/files/{id}` (the bytes,
//! with `Range` and caching headers) and `GET /api/files/{id}/thumb` (a PNG thumbnail of an
//! image). Who may upload to a room and read its files: [`may_use`], the check posting and
//! reading use (the token's rooms, a conversation's members; private rooms plug in there).
//!
//! Every file response is safe to open in Banter's origin: `X-Content-Type-Options: nosniff`,
//! `Content-Security-Policy: sandbox`, and `Content-Disposition: attachment` for all but the
//! inline image types (see `files::kind` and docs/security.md).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use banter_protocol::FileInfo;
use serde::Deserialize;

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
    if banter_protocol::is_conversation(room) {
        app.hub.member(room, user).await?;
    } else {
        caller.room(room)?;
    }
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
    serve(&app, &rec, &headers, false).await
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
    serve(&app, &rec, &headers, true).await
}

/// A byte range asked for by a `Range` header.
enum Wanted {
    All,
    Part(u64, u64),
    Unsatisfiable,
}

/// Reads one `bytes=` range of a file of `size` bytes; several ranges, or a header that is not
/// understood, mean the whole file (as RFC 9110 allows).
fn wanted(headers: &HeaderMap, size: u64) -> Wanted {
    let Some(spec) = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Wanted::All;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
        (Ok(start), Err(_)) if b.is_empty() => Some((start, size.saturating_sub(1))),
        (Err(_), Ok(n)) if a.is_empty() && n > 0 => {
            Some((size.saturating_sub(n), size.saturating_sub(1)))
        }
        (Err(_), Ok(0)) if a.is_empty() => return Wanted::Unsatisfiable,
        _ => return Wanted::All,
    };
    match range {
        Some((start, end)) if start < size && start <= end => Wanted::Part(start, end),
        _ => Wanted::Unsatisfiable,
    }
}

/// `attachment` (or `inline`) with the name, ASCII-safe and RFC 8187-encoded.
fn disposition(rec: &FileRecord, inline: bool) -> HeaderValue {
    let ascii: String = rec
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in rec.name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// The response for a file (or its thumbnail): safe headers, caching, ranges.
async fn serve(
    app: &AppState,
    rec: &FileRecord,
    headers: &HeaderMap,
    thumb: bool,
) -> Result<Response, ApiError> {
    let files = files(app)?;
    let etag = format!("\"{}{}\"", rec.sha256, if thumb { ".thumb" } else { "" });
    let mut res = Response::new(Body::empty());
    let h = res.headers_mut();
    let content_type = if thumb {
        "image/png"
    } else {
        &rec.content_type
    };
    let inline = kind::inline(content_type);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(rec, inline));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(res);
    }
    if thumb {
        let stream = files.bytes(rec, true, None).await?;
        *res.body_mut() = Body::from_stream(stream);
        return Ok(res);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let size = rec.size;
    let (range, status) = match wanted(headers, size) {
        Wanted::All => (None, StatusCode::OK),
        Wanted::Part(a, b) => (Some(a..b + 1), StatusCode::PARTIAL_CONTENT),
        Wanted::Unsatisfiable => {
            let h = res.headers_mut();
            h.remove(header::CONTENT_TYPE);
            h.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            *res.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return Ok(res);
        }
    };
    let len = range.as_ref().map_or(size, |r| r.end - r.start);
    if let Some(r) = &range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end - 1))
    {
        res.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let stream = files.bytes(rec, false, range).await?;
    *res.body_mut() = Body::from_stream(stream);
    *res.status_mut() = status;
    Ok(res)
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
    let cid = body.client_id.as_deref();
    app.hub
        .post_files(room, user, &body.text, cid, body.reply_to, infos, done)?;
    Ok(())
}
