//! `banter-client`: a small Banter client for scripts, bots and tests, doing the protocol right.
//!
//! - [`Client`] holds one WebSocket (`/ws`) in a background task. It reconnects with exponential
//!   backoff and jitter, resumes every joined room with `since` (the last `seq` it delivered) and
//!   `epoch`, and re-sends every un-acked message with its `client_id`, so the server stores it
//!   once. Messages come out of [`Client::next_event`] in `seq` order, each once, across
//!   reconnects.
//! - [`post_http`] posts one message through `POST /api/rooms/{room}/messages`, retrying
//!   connection failures with the same `client_id`.
//!
//! With a token (`auth: "token"` servers), the WebSocket's first frame is `auth` and HTTP sends
//! `Authorization: Bearer`. Plain `ws://` and `http://` only: this crate has no TLS stack.
//!
//! Modules: [`backoff`] (reconnect delays), [`session`] (what to resume, sans IO),
//! [`socket`] (the connection task), [`http`] (the HTTP API).

pub mod backoff;
pub mod http;
pub mod session;
pub mod socket;

pub use backoff::Backoff;
pub use http::post_http;
pub use session::{Event, Session};
pub use socket::Client;

use std::time::Duration;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's base URL, `http://host:port` (or `ws://host:port`).
    pub url: String,
    /// The name to join rooms as (ignored by token servers, which use the token's user).
    pub name: String,
    /// A signed token for servers with `welcome.auth == "token"`.
    pub token: Option<String>,
    pub backoff: Backoff,
    /// A connection silent for this long (the server pings every 20 s by default) is dropped
    /// and re-opened.
    pub dead_after: Duration,
}

impl ClientConfig {
    pub fn new(url: impl Into<String>, name: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            name: name.into(),
            token: None,
            backoff: Backoff::default(),
            dead_after: Duration::from_secs(60),
        }
    }

    /// The WebSocket endpoint: the base URL with a `ws://` scheme and `/ws`.
    pub fn ws_url(&self) -> Result<String, ClientError> {
        let base = self.url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("ws://"))
            .ok_or_else(|| ClientError::Url(self.url.clone()))?;
        Ok(format!("ws://{rest}/ws"))
    }

    /// The HTTP base URL, `http://host:port`.
    pub fn http_url(&self) -> Result<String, ClientError> {
        let base = self.url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("ws://"))
            .ok_or_else(|| ClientError::Url(self.url.clone()))?;
        Ok(format!("http://{rest}"))
    }
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("not a supported server URL (use http://HOST:PORT or ws://HOST:PORT): {0}")]
    Url(String),
    #[error("the server refused: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the server needs a token (welcome.auth is \"token\"): pass --token or BANTER_TOKEN")]
    TokenRequired,
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("the client stopped")]
    Stopped,
}

/// A fresh `client_id`: unique per message, so a re-send is recognised as the same message.
pub fn new_client_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
