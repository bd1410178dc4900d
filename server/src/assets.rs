//! The web app's files, served on `GET /` and any path no other route claims.
//!
//! With the `embed-frontend` feature the trunk-built `dist/` is compiled into the binary (see
//! `just release`); without it a small placeholder page explains how to get the app, so
//! `cargo test` and `cargo run` never need trunk.

use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

/// Fallback handler: the asset at `uri`, or the app's `index.html` for client-side routes.
pub async fn serve(uri: Uri) -> Response {
    let _ = uri;
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-cache")],
        Html(PLACEHOLDER),
    )
        .into_response()
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
