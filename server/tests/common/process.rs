//! The real `banter` binary as a child process, through `banter-testkit`: [`Proc::start`] with
//! the flags given (add `--listen 127.0.0.1:0` yourself), [`launch`] for any other way; a
//! scratch directory per test and a TCP proxy that cuts every connection through it.

use std::ops::{Deref, DerefMut};

use banter_testkit::{Banter, Launch, Redis};
use tokio::process::Command;

pub use banter_testkit::{Proxy, Scratch, scratch};

pub const BIN: &str = env!("CARGO_BIN_EXE_banter");

/// The binary under test: this build's, or `BANTER_BIN` (e.g. the release binary).
pub fn bin() -> String {
    std::env::var("BANTER_BIN").unwrap_or_else(|_| BIN.into())
}

/// A `banter` command (a client subcommand, or a start expected to fail) with colours off and a
/// quiet environment.
pub fn banter() -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .kill_on_drop(true);
    cmd
}

/// How to start the `banter` under test ([`bin`]; free port, temporary data directory: see
/// [`Launch`]).
pub fn launch() -> Launch {
    Launch::new(bin())
}

/// This build's `banter` on a free port with its own data directory (kept across restarts), the
/// limits meant for one address lifted, with more flags.
pub async fn start(extra: &[&str]) -> Banter {
    launch()
        .unlimited()
        .args(extra)
        .start()
        .await
        .expect("banter started")
}

/// A running server process started with exactly the flags given (see [`Banter`]).
pub struct Proc(pub Banter);

impl Proc {
    /// Starts `banter ARGS` (add `--listen 127.0.0.1:0` yourself) and waits for it to listen.
    pub async fn start(args: &[&str]) -> Proc {
        let banter = launch().bare().args(args).start().await;
        Proc(banter.expect("banter started"))
    }
}

impl Deref for Proc {
    type Target = Banter;
    fn deref(&self) -> &Banter {
        &self.0
    }
}

impl DerefMut for Proc {
    fn deref_mut(&mut self) -> &mut Banter {
        &mut self.0
    }
}

/// A node of a cluster sharing rooms through `redis` (the limits meant for one address lifted),
/// with more flags.
pub async fn node(redis: &Redis, extra: &[&str]) -> Banter {
    node_on(&redis.url(), extra).await
}

/// A node on the Redis URL(s) `urls` (comma-separated: rooms sharded over them), with more
/// flags.
pub async fn node_on(urls: &str, extra: &[&str]) -> Banter {
    launch()
        .unlimited()
        .redis(urls)
        .args(extra)
        .start()
        .await
        .expect("a banter node")
}

/// `n` nodes on `redis`.
pub async fn cluster(redis: &Redis, n: usize) -> Vec<Banter> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(node(redis, &[]).await);
    }
    nodes
}
