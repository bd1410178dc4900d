//! Banter's test kit: the one way its tests (and the load generator) start real parts and talk
//! to them.
//!
//! - [`Launch`] / [`Banter`]: the `banter` binary as a process with any flags and any store, on a
//!   free loopback port (or a chosen one), ready when its log says it listens (no sleeps), killed
//!   on drop; `kill -9`, signals and a restart on the same data directory.
//! - [`Redis`]: a `redis-server` on a free loopback port with the persistence a test chooses;
//!   [`Sentinel`]: a Redis Sentinel watching one of them, quick to fail over.
//! - [`Proxy`]: a TCP proxy a test cuts (every open connection dropped), makes refuse new
//!   connections, and restores, as a network failure would.
//! - [`Client`]: a typed protocol client over a real WebSocket; [`post`], [`get_json`],
//!   [`all_messages`]: the HTTP API as a bot uses it; [`follow`]: a reader that resumes across
//!   cuts and collects every message in order; [`Acks`]: what the senders were told, checked
//!   for a `client_id` acked twice with two `seq`s.
//!
//! Every wait is for a condition, with a deadline ([`WAIT`]).

mod acks;
mod banter;
mod client;
mod follow;
mod http;
mod log;
mod paths;
mod proxy;
mod redis;
mod sentinel;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use acks::Acks;
pub use banter::{Banter, Launch};
pub use client::{Client, Ws, join_msg, message, replay_bounds};
pub use follow::{Nodes, Resumed, Rng, Seen, follow, follow_once, resume, seeds, ws_writer};
pub use http::{
    all_messages, get_json, get_json_bearer, page, post, post_stored, post_within, room_names,
    try_post,
};
pub use log::LogLines;
pub use paths::{Scratch, release_bin, scratch, target_dir, workspace_root};
pub use proxy::Proxy;
pub use redis::{Persistence, Redis, free_port};
pub use sentinel::Sentinel;

/// How long any single expected event may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often a condition is checked again while waiting for it.
const POLL: Duration = Duration::from_millis(20);

/// Something serving Banter's HTTP API and WebSocket on an address.
pub trait Endpoint {
    fn addr(&self) -> SocketAddr;

    /// `ws://ADDR/ws`
    fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr())
    }

    /// `http://ADDR{path}`
    fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }
}

impl Endpoint for SocketAddr {
    fn addr(&self) -> SocketAddr {
        *self
    }
}

impl<T: Endpoint + ?Sized> Endpoint for &T {
    fn addr(&self) -> SocketAddr {
        (**self).addr()
    }
}

/// Waits until `cond` holds, checking it every few milliseconds; panics with `what` after
/// [`WAIT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(POLL).await; // polling interval, with a deadline
    }
}

/// Retries `attempt` until it yields `Some`, as a client retries a refused request; panics with
/// `what` after [`WAIT`].
pub async fn retry<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = attempt().await {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(POLL).await; // retry interval, as a client's
    }
}
