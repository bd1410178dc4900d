//! The bench's flags ([`BenchArgs`], shared by the comparison and `--cluster`) and the record of
//! one run of the comparison ([`Run`]) as saved in its JSON.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::bench_server::Kind;
use crate::fanout::FanoutCfg;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The Banter server binary.
    #[arg(long, default_value = "target/release/banter")]
    pub(crate) banter: PathBuf,
    /// An extra argument for Banter, after `--listen 127.0.0.1:PORT` (repeatable), e.g.
    /// `--banter-arg=--rate-per-sec=0`.
    #[arg(long = "banter-arg", allow_hyphen_values = true)]
    pub(crate) banter_args: Vec<String>,
    /// Directory of the Node reference (`server.js`, after `npm ci`).
    #[arg(long, default_value = "bench/node-ws")]
    pub(crate) node_dir: PathBuf,
    /// The node executable.
    #[arg(long, default_value = "node")]
    pub(crate) node: String,
    /// The naive axum reference binary (`cargo build --release -p naive-axum`).
    #[arg(long, default_value = "target/release/naive-axum")]
    pub(crate) naive: PathBuf,
    /// Only these servers (`banter`, `node`, `naive`).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("banter"), String::from("node"), String::from("naive")])]
    pub(crate) servers: Vec<String>,
    /// Only these scenarios (`connect`, `idle`, `fanout`, `store`: Banter's durable store
    /// beside a commit-per-message one; `reactions`: a reaction storm on Banter, `--clients`
    /// members each reacting to one message; `search`: queries over `--search-messages` while
    /// posting, and stored messages/s with the index on and off; `--cluster` runs `fanout` and
    /// `store`).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("connect"), String::from("idle"), String::from("fanout"), String::from("store"), String::from("reactions"), String::from("search")])]
    pub(crate) scenarios: Vec<String>,
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: usize,
    /// Seconds-long run of every scenario that fails only if the tool or a server breaks.
    #[arg(long)]
    pub(crate) smoke: bool,
    /// Where to save the JSON results.
    #[arg(long, default_value = "bench/results")]
    pub(crate) out: PathBuf,
    /// First port to start servers on (each run takes the next one). Below Linux's ephemeral
    /// range (32768–60999): there the load generator's own closed client sockets (TIME_WAIT)
    /// can hold a port a later server needs.
    #[arg(long, default_value_t = 24_100)]
    pub(crate) port: u16,
    #[arg(long, default_value_t = 1000)]
    pub(crate) clients: usize,
    #[arg(long, default_value_t = 10)]
    pub(crate) senders: usize,
    #[arg(long, default_value_t = 100)]
    pub(crate) payload: usize,
    /// Seconds of sending per fan-out (and store) run.
    #[arg(long, default_value_t = 8.0)]
    pub(crate) secs: f64,
    /// Store scenario: the open-loop rate at which the ack latency is measured.
    #[arg(long, default_value_t = 10_000.0)]
    pub(crate) store_rate: f64,
    /// Search scenario: messages posted and indexed before the queries.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) search_messages: u64,
    /// Search scenario: messages/s posted while the queries run.
    #[arg(long, default_value_t = 10_000.0)]
    pub(crate) search_rate: f64,
    /// Reactions scenario: every member reacts within this many seconds.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) reaction_spread: f64,
    /// Reactions scenario: the room's byte budget (the server's `--hot-window-bytes`): the
    /// server's memory may not grow past it during the storm.
    #[arg(long, default_value_t = 64 << 20)]
    pub(crate) room_budget_bytes: u64,
    /// Target deliveries/s of the sweep, ascending.
    #[arg(long, value_delimiter = ',', default_values_t = [50_000u64, 75_000, 100_000, 150_000, 250_000, 400_000, 600_000, 800_000, 1_000_000, 1_250_000, 1_500_000, 2_000_000, 2_500_000])]
    pub(crate) deliveries: Vec<u64>,
    /// Leave the sweep after this many consecutive rates not sustained.
    #[arg(long, default_value_t = 2)]
    pub(crate) stop_after: usize,
    #[arg(long, default_value_t = 10_000)]
    pub(crate) idle_conns: usize,
    #[arg(long, default_value_t = 5.0)]
    pub(crate) connect_secs: f64,
    #[arg(long, default_value_t = 50)]
    pub(crate) connect_concurrency: usize,
    /// Before each run, wait up to this many seconds for the rest of the machine to go quiet
    /// (other processes below --quiet-pct of one core, sampled over 1 s). 0 = don't wait.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) wait_quiet: f64,
    /// What counts as quiet, in percent of one core used by everything else.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) quiet_pct: f64,
    /// A connect or fan-out run during which other processes took more than this (percent of one
    /// core) is disturbed and is repeated, up to --retries times; the least disturbed one counts.
    #[arg(long, default_value_t = 50.0)]
    pub(crate) disturbed_pct: f64,
    #[arg(long, default_value_t = 1)]
    pub(crate) retries: usize,
    /// Instead of the comparison with the references: Banter as several nodes sharing rooms
    /// through Redis (`--redis`) beside one node with its embedded store, through the fan-out
    /// sweep and the store scenario (see `bench_cluster.rs`).
    #[arg(long)]
    pub(crate) cluster: bool,
    /// Cluster: how many nodes.
    #[arg(long, default_value_t = 2)]
    pub(crate) nodes: usize,
    /// Cluster: how many Redis the nodes share (`--redis A,B,…`: each room on one of them),
    /// each measured on its own.
    #[arg(long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=16))]
    pub(crate) shards: usize,
    /// Cluster: the redis-server executable.
    #[arg(long, default_value = "redis-server")]
    pub(crate) redis_server: String,
    /// Cluster: Redis's `appendfsync` (AOF on): `always` (what docs/deploy.md recommends, like
    /// the single node's `--sqlite-sync full`), `everysec` or `no`; `off` = no persistence.
    #[arg(long, default_value = "always")]
    pub(crate) redis_fsync: String,
}

impl BenchArgs {
    /// A fan-out run at `target` deliveries/s: `--clients` in one room, `--senders` of them
    /// sending `--payload` bytes for `--secs`.
    pub(crate) fn fanout_cfg(&self, target: u64) -> FanoutCfg {
        FanoutCfg {
            clients: self.clients,
            rooms: 1,
            senders: self.senders,
            rate: target as f64 / self.clients as f64,
            duration: Duration::from_secs_f64(self.secs),
            payload: self.payload,
            settle: Duration::from_secs_f64(if self.smoke { 0.3 } else { 1.0 }),
            drain: Duration::from_secs(5),
            connect_concurrency: 100,
            setup_timeout: Duration::from_secs(30),
        }
    }
}

/// One run's record in the JSON.
#[derive(Serialize)]
pub(crate) struct Run {
    pub(crate) round: usize,
    pub(crate) server: Kind,
    pub(crate) scenario: &'static str,
    /// CPU the rest of the machine used just before the run, % of one core.
    pub(crate) others_before_pct: Option<f64>,
    /// Runs made to get this one (more than 1 when others disturbed the earlier ones).
    pub(crate) attempts: usize,
    /// Target deliveries/s (fan-out only).
    pub(crate) target: Option<u64>,
    pub(crate) report: Value,
}
