//! `banter-client`: a small Banter client for scripts, bots and tests, doing the protocol right.
//!
//! - [`Client`] holds one WebSocket (`/ws`) in a background task. It reconnects with exponential
//!   backoff and jitter, resumes every joined room with `since` (the last `seq` it delivered) and
//!   `epoch`, and re-sends every un-acked message with its `client_id`, so the server stores it
//!   once. Messages come out of [`Client::next_event`] in `seq` order, each once, across
//!   reconnects.
//! - [`post_http`] posts one message through `POST /api/rooms/{room}/messages`, retrying
//!   connection failures with the same `client_id`.
//! - v1.2: [`Client::reply`], [`Client::edit`], [`Client::delete`], [`Client::react`] are kept
//!   and re-sent by `client_id` like sends; `change` entries come once each as
//!   [`Event::Change`]; with [`ClientConfig::keep`] the client holds each room's messages folded
//!   ([`Client::messages`]). Over HTTP: [`http::Http`].
//!
//! With a token (`auth: "token"` servers), the WebSocket's first frame is `auth` and HTTP sends
//! `Authorization: Bearer`. `https://` and `wss://` servers are reached through rustls, trusting
//! the system's roots and optionally a CA file ([`ClientConfig::ca_file`]).
//!
//! The rules (resume points and epochs, dedupe, sends in the order written, backoff) are
//! `banter-client-core`'s, shared with the web app. Modules: [`backoff`] (reconnect delays as
//! `Duration`s), [`session`] (the core's results as [`Event`]s, sans IO), [`socket`] (the
//! connection task), [`http`] (the HTTP API), [`tls`] (certificates trusted).

pub mod backoff;
pub mod http;
pub mod session;
pub mod socket;
pub mod tls;

pub use backoff::Backoff;
pub use http::post_http;
pub use session::{Event, Session};
pub use socket::Client;

use std::path::PathBuf;
use std::time::Duration;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's base URL: `http://host:port` or `https://host:port` (`ws://`, `wss://` too).
    pub url: String,
    /// The name to join rooms as (ignored by token servers, which use the token's user).
    pub name: String,
    /// A signed token for servers with `welcome.auth == "token"`.
    pub token: Option<String>,
    pub backoff: Backoff,
    /// A connection silent for this long (the server pings every 20 s by default) is dropped
    /// and re-opened.
    pub dead_after: Duration,
    /// A PEM file of extra certificates to trust (for a private CA or a self-signed server).
    pub ca_file: Option<PathBuf>,
    /// Messages kept per room, folded (v1.2 edits, deletions, reactions, reply counts), for
    /// [`Client::messages`] and [`Event::Change`]'s target; 0 (the default): none.
    pub keep: usize,
}

impl ClientConfig {
    pub fn new(url: impl Into<String>, name: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            name: name.into(),
            token: None,
            backoff: Backoff::default(),
            dead_after: Duration::from_secs(60),
            ca_file: None,
            keep: 0,
        }
    }

    /// `(secure, host:port[/prefix])` of the base URL.
    fn split_url(&self) -> Result<(bool, &str), ClientError> {
        let base = self.url.trim_end_matches('/');
        for (scheme, secure) in [
            ("http://", false),
            ("ws://", false),
            ("https://", true),
            ("wss://", true),
        ] {
            if let Some(rest) = base.strip_prefix(scheme) {
                return Ok((secure, rest));
            }
        }
        Err(ClientError::Url(self.url.clone()))
    }

    /// The WebSocket endpoint: `ws://` or `wss://`, the host, `/ws`.
    pub fn ws_url(&self) -> Result<String, ClientError> {
        let (secure, rest) = self.split_url()?;
        let scheme = if secure { "wss" } else { "ws" };
        Ok(format!("{scheme}://{rest}/ws"))
    }

    /// The HTTP base URL: `http://` or `https://` and the host.
    pub fn http_url(&self) -> Result<String, ClientError> {
        let (secure, rest) = self.split_url()?;
        let scheme = if secure { "https" } else { "http" };
        Ok(format!("{scheme}://{rest}"))
    }

    /// Whether the server is reached over TLS.
    pub fn is_tls(&self) -> Result<bool, ClientError> {
        Ok(self.split_url()?.0)
    }
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("not a supported server URL (use http(s)://HOST:PORT or ws(s)://HOST:PORT): {0}")]
    Url(String),
    #[error("the server refused: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("the server needs a token (welcome.auth is \"token\"): pass --token or BANTER_TOKEN")]
    TokenRequired,
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the client stopped")]
    Stopped,
}

/// A fresh `client_id`: unique per message, so a re-send is recognised as the same message.
pub fn new_client_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
