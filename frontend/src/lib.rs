//! Banter's web client: a Leptos CSR app that speaks the Banter protocol (the `banter-protocol`
//! crate's types, never hand-built JSON) over the browser WebSocket.
//!
//! Codemap:
//! - [`state`]: the domain state in plain Rust (messages by `seq`, resume points, pending sends,
//!   backoff); no DOM, unit-tested.
//! - [`socket`]: the one WebSocket (connect, reconnect with backoff and jitter, resume with
//!   `since`), exposed to views as the [`socket::Chat`] context.
//! - [`components`]: the views, one per file.
//! - [`accounts`]: sign-in, sign-up, the remembered session's renewal, the admin's calls.
//! - [`api`]: the HTTP calls (room list, conversation list, scrollback pages).
//! - [`markup`]: the safe markdown subset (links, bold, italic, code, mentions) as a tree.
//! - [`notify`]: browser notifications, once the user allowed them.
//! - [`push`]: Web Push: the service worker, the subscription, per-room mutes.
//! - [`prefs`]: what the browser remembers (the name, the rooms, the sign-in token).
//! - [`search`]: the search box's query and snippet rules (the view is `components/search_box.rs`).
//! - [`switcher`]: the Ctrl/Cmd+K quick switcher's rules (rooms and people matching a name).

pub mod accounts;
pub mod api;
pub mod components;
pub mod markup;
pub mod notify;
pub mod prefs;
pub mod push;
pub mod rooms_api;
pub mod search;
pub mod socket;
pub mod state;
pub mod switcher;

mod app;

pub use app::App;
