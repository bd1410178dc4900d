//! The web app's files, served on `GET /` and any path no other route claims.
//!
//! With the `embed-frontend` feature the trunk-built `dist/` is compiled into the binary (see
//! `just release`); without it a small placeholder page explains how to get the app, so
//! `cargo test` and `cargo run` never need trunk.
//!
//! Caching: trunk names every asset after a hash of its content (`app-1a2b…_bg.wasm`), so those
//! are `immutable` for a year; `index.html` (which names the current hashes) is `no-cache`, so a
//! browser always revalidates it and picks up a new release at once. A path that looks like a
//! file but is not in the bundle is a 404; any other path is a client-side route and gets
//! `index.html` (SPA fallback).

use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

/// `Cache-Control` for content-hashed assets.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything else (`index.html` first): always revalidate.
pub const REVALIDATE: &str = "no-cache";

/// Fallback handler: the asset at `uri`, or the app's `index.html` for client-side routes.
pub async fn serve(uri: Uri) -> Response {
    #[cfg(feature = "embed-frontend")]
    {
        embedded::serve(uri.path())
    }
    #[cfg(not(feature = "embed-frontend"))]
    {
        let _ = uri;
        placeholder()
    }
}

fn placeholder() -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, REVALIDATE)],
        Html(PLACEHOLDER),
    )
        .into_response()
}

/// Whether a file name carries trunk's content hash: `name-<hex digits>` before the extension,
/// e.g. `banter-frontend-3ba3ec4ef0f2d71c_bg.wasm` or `style-7cce2e94635b4eef.css`. Trunk
/// prints a 64-bit hash without its leading zeros, so 12 to 16 digits (a hash under 2^48 is
/// one chance in 65,536).
pub fn is_content_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    match stem.rsplit_once('-') {
        Some((name, hash)) => {
            !name.is_empty()
                && (12..=16).contains(&hash.len())
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg_attr(not(feature = "embed-frontend"), allow(dead_code))]
/// Whether a request path names a file (its last segment has an extension) rather than a
/// client-side route.
fn looks_like_file(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| {
        last.rsplit_once('.')
            .is_some_and(|(s, ext)| !s.is_empty() && !ext.is_empty())
    })
}

#[cfg_attr(not(feature = "embed-frontend"), allow(dead_code))]
/// The `Content-Type` to send for a guessed MIME type: text gets an explicit UTF-8 charset.
fn content_type(mime: &str) -> String {
    let textual = mime.starts_with("text/") || mime == "application/javascript";
    if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

#[cfg(feature = "embed-frontend")]
mod embedded {
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use rust_embed::RustEmbed;

    use super::{IMMUTABLE, REVALIDATE, content_type, is_content_hashed, looks_like_file};

    /// trunk's release output. `build.rs` makes sure the folder exists (empty before the first
    /// trunk build) and rebuilds the server whenever it changes.
    #[derive(RustEmbed)]
    #[folder = "../dist/"]
    struct Dist;

    const INDEX: &str = "index.html";

    pub(super) fn serve(path: &str) -> Response {
        let path = path.trim_start_matches('/');
        let path = if path.is_empty() { INDEX } else { path };
        if let Some(resp) = file(path) {
            return resp;
        }
        if looks_like_file(path) {
            return (
                StatusCode::NOT_FOUND,
                [(header::CACHE_CONTROL, REVALIDATE)],
                "not found",
            )
                .into_response();
        }
        // A client-side route (or `dist/` was empty at build time: then the placeholder).
        file(INDEX).unwrap_or_else(super::placeholder)
    }

    fn file(path: &str) -> Option<Response> {
        let f = Dist::get(path)?;
        let cache = if path != INDEX && is_content_hashed(path) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        Some(
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, content_type(f.metadata.mimetype())),
                    (header::CACHE_CONTROL, cache.to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                ],
                f.data,
            )
                .into_response(),
        )
    }
}

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Banter</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Banter is running</h1>
<p>This build does not embed the web app. Build it with <code>just release</code>
(or run <code>trunk serve</code> for development), or talk to the server directly:
WebSocket <code>/ws</code>, HTTP <code>/api/rooms/lobby/messages</code>.</p>
</body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_content_hashed(
            "banter-frontend-3ba3ec4ef0f2d71c_bg.wasm"
        ));
        assert!(is_content_hashed("banter-frontend-3ba3ec4ef0f2d71c.js"));
        assert!(is_content_hashed("/snippets/x/style-7cce2e94635b4eef.css"));
        assert!(!is_content_hashed("index.html"));
        assert!(!is_content_hashed("favicon.ico"));
        assert!(!is_content_hashed("-7cce2e94635b4eef.css"));
        assert!(!is_content_hashed("style-7cce2e94635b4eeg.css"));
        // A hash with a leading zero is printed one digit shorter.
        assert!(is_content_hashed("style-b96439a614970c9.css"));
        assert!(!is_content_hashed("style-1234.css"));
    }

    #[test]
    fn files_and_routes_are_told_apart() {
        assert!(looks_like_file("app.js"));
        assert!(looks_like_file("a/b/c.wasm"));
        assert!(!looks_like_file("r/lobby"));
        assert!(!looks_like_file(""));
        assert!(!looks_like_file(".well-known/"));
    }

    #[test]
    fn text_types_get_a_charset() {
        assert_eq!(content_type("text/html"), "text/html; charset=utf-8");
        assert_eq!(content_type("application/wasm"), "application/wasm");
    }

    #[tokio::test]
    async fn every_path_answers_with_a_page() {
        let resp = serve(Uri::from_static("/")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(ct.starts_with("text/html"), "{ct}");
        assert_eq!(
            resp.headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(REVALIDATE.as_bytes())
        );
    }
}
