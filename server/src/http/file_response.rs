//! A file's response (`GET /api/files/{id}` and `/thumb`): safe to open in Banter's origin
//! (`X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox`,
//! `Cross-Origin-Resource-Policy: same-origin`, and `Content-Disposition: attachment` for all but
//! the inline image types: see `files::kind` and docs/security.md), cached for good by its
//! SHA-256 (`ETag`, `immutable`, `304` on `If-None-Match`), with one `Range` (`206`, `416`).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::error::ApiError;
use crate::files::{Files, kind};
use crate::store::files::FileRecord;

/// The headers of every file response: see the module docs.
fn safe_headers(h: &mut HeaderMap, rec: &FileRecord, content_type: &str, etag: &str) {
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
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
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
pub async fn serve(
    files: &Files,
    rec: &FileRecord,
    headers: &HeaderMap,
    thumb: bool,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}{}\"", rec.sha256, if thumb { ".thumb" } else { "" });
    let mut res = Response::new(Body::empty());
    let content_type = if thumb {
        "image/png"
    } else {
        &rec.content_type
    };
    safe_headers(res.headers_mut(), rec, content_type, &etag);
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
    res.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
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
