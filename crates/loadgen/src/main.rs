//! `banter-loadgen`: Banter's load generator and benchmark driver.
//!
//! Scenarios (`fanout`, `idle`, `connect`) drive one server at `--addr`; `--classic` speaks the
//! classic `{user, message}` shape on `/` so the same tool drives any plain broadcast server, such
//! as the Node `ws` reference in `bench/node-ws` or the naive axum one in `bench/naive-axum`. `bench`
//! starts Banter and the references itself and runs them through every scenario in alternation (see
//! `bench.rs`); it is what `just bench` calls.
//!
//! The load generator runs on one tokio runtime (current-thread by default, `--threads` to change)
//! so that it takes as little as possible of the cores it shares with the server under test.

mod bench;
mod bench_args;
mod bench_chart;
mod bench_cluster;
mod bench_cluster_report;
mod bench_cluster_sut;
mod bench_measure;
mod bench_reactions;
mod bench_search;
mod bench_server;
mod bench_store;
mod bench_summary;
mod client;
mod connect;
mod fanout;
mod idle;
mod procstat;
mod reactions;
mod redis_proc;
mod report;
mod search;
mod store;
mod vocab;
mod ws;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::client::{ConnSpec, Dialect};

#[derive(Parser, Debug)]
#[command(
    name = "banter-loadgen",
    version,
    about = "Load generator and benchmark driver for Banter (loopback only)"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: Cmd,
}

/// Options every scenario takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Server address (loopback only).
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:3000",
        env = "BANTER_LOADGEN_ADDR"
    )]
    addr: SocketAddr,
    /// More nodes of a Banter cluster (`--redis`), repeatable: connections are spread over
    /// `--addr` and these, round-robin (loopback only).
    #[arg(long = "also-addr", global = true)]
    also_addr: Vec<SocketAddr>,
    /// Speak the classic `{user, message}` format on `/` (no join) instead of Banter's protocol on `/ws`.
    #[arg(long, global = true)]
    classic: bool,
    /// WebSocket path (default `/ws`, or `/` with --classic).
    #[arg(long, global = true)]
    path: Option<String>,
    /// The server's pid, to report its CPU and memory from /proc.
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Print the report as JSON on stdout instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Runtime worker threads; 0 = one current-thread runtime.
    #[arg(long, global = true, default_value_t = 0)]
    threads: usize,
    /// Spread connections over this many loopback source addresses (127.0.0.1..=N), for more
    /// ephemeral ports.
    #[arg(long, global = true, default_value_t = 1)]
    sources: usize,
    /// Receive buffer per connection, bytes (default: 16 KiB for fanout, 1 KiB otherwise).
    #[arg(long, global = true)]
    rx_buf: Option<usize>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// N clients in one room (or spread over rooms), S senders at a total rate for D seconds.
    Fanout(FanoutArgs),
    /// Hold N idle connections; report the server's memory per connection.
    Idle(IdleArgs),
    /// Connection setup rate.
    Connect(ConnectArgs),
    /// Messages made durable per second, and the wait for their ack (one room per sender).
    Store(StoreArgs),
    /// A reaction storm (v1.2): N members each react to one message within the spread.
    Reactions(ReactionsArgs),
    /// Run Banter, the Node `ws` and the naive axum references through every scenario, alternating,
    /// and compare.
    Bench(Box<bench_args::BenchArgs>),
}

#[derive(Args, Debug)]
struct FanoutArgs {
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Rooms to spread the clients over (Banter protocol only).
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages per second, all senders together.
    #[arg(long, default_value_t = 100.0, conflicts_with = "deliveries")]
    rate: f64,
    /// Target deliveries per second instead of --rate (rate = deliveries / room size).
    #[arg(long)]
    deliveries: Option<f64>,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Text bytes per message.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// Seconds between the last join and the first send.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,
    /// Longest wait, in seconds, for stragglers after the last send.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Connections set up at once.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
}

#[derive(Args, Debug)]
struct IdleArgs {
    #[arg(long, default_value_t = 10_000)]
    conns: usize,
    /// Banter protocol: also join a room, spreading over this many rooms (0 = no join).
    #[arg(long, default_value_t = 0)]
    join_rooms: usize,
    /// Seconds to wait after the last connection before measuring.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Seconds to keep holding after measuring.
    #[arg(long, default_value_t = 2.0)]
    hold: f64,
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
}

#[derive(Args, Debug)]
struct StoreArgs {
    #[arg(long, default_value_t = 50)]
    senders: usize,
    /// Messages per second, all senders together (open loop); 0 = as fast as acks come back.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Closed loop: un-acked messages per sender.
    #[arg(long, default_value_t = 32)]
    inflight: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Text bytes per message.
    #[arg(long, default_value_t = 100)]
    payload: usize,
}

#[derive(Args, Debug)]
struct ReactionsArgs {
    #[arg(long, default_value_t = 1000)]
    members: usize,
    /// Seconds over which the members react.
    #[arg(long, default_value_t = 1.0)]
    spread: f64,
    /// The room's byte budget (the server's `--hot-window-bytes`).
    #[arg(long, default_value_t = 64 << 20)]
    budget_bytes: u64,
}

#[derive(Args, Debug)]
struct ConnectArgs {
    /// Seconds to run.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
}

impl Common {
    fn dialect(&self) -> Dialect {
        if self.classic {
            Dialect::Classic
        } else {
            Dialect::Banter
        }
    }

    fn spec(&self, dialect: Dialect, addr: SocketAddr, default_rx: usize) -> Arc<ConnSpec> {
        let mut spec = ConnSpec::new(
            addr,
            dialect,
            self.path.clone(),
            self.sources,
            self.rx_buf.unwrap_or(default_rx),
        );
        spec.more = self
            .also_addr
            .iter()
            .map(|a| ws::Target {
                addr: *a,
                path: spec.target.path.clone(),
            })
            .collect();
        Arc::new(spec)
    }
}

/// Builds the load generator's runtime: current-thread for `threads == 0`.
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
}

/// Raises the open-files soft limit to the hard limit (10,000 connections need 10,000 fds; the
/// servers `bench` starts inherit the raised limit). Returns the limit now in force.
pub fn raise_nofile() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("warning: could not raise RLIMIT_NOFILE: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Prints the report, and exits with failure when the run achieved nothing (`ok` false).
fn finish<T: serde::Serialize>(json: bool, report: &T, table: String, ok: bool) -> ExitCode {
    print(json, report, table);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print<T: serde::Serialize>(json: bool, report: &T, table: String) {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cannot encode report: {e}"),
        }
    } else {
        print!("{table}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let c = cli.common;
    if !c.addr.ip().is_loopback() || c.also_addr.iter().any(|a| !a.ip().is_loopback()) {
        eprintln!(
            "error: banter-loadgen only targets loopback addresses (got {})",
            c.addr
        );
        return ExitCode::from(2);
    }
    let nofile = raise_nofile();
    let rt = match runtime(c.threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.cmd {
        Cmd::Fanout(a) => {
            let spec = c.spec(c.dialect(), c.addr, 16 * 1024);
            let room_size = (a.clients as f64 / a.rooms.max(1) as f64).max(1.0);
            let cfg = fanout::FanoutCfg {
                clients: a.clients,
                rooms: a.rooms,
                senders: a.senders,
                rate: a.deliveries.map_or(a.rate, |d| d / room_size),
                duration: secs(a.duration),
                payload: a.payload,
                settle: secs(a.settle),
                drain: secs(a.drain),
                connect_concurrency: a.concurrency,
                setup_timeout: Duration::from_secs(30),
            };
            if a.clients as u64 + 64 > nofile {
                eprintln!(
                    "warning: {} clients but only {nofile} file descriptors",
                    a.clients
                );
            }
            let r = rt.block_on(fanout::run(spec, cfg, c.pid, None));
            let ok = r.connected > 0;
            finish(c.json, &r, r.table(), ok)
        }
        Cmd::Idle(a) => {
            let spec = c.spec(c.dialect(), c.addr, 1024);
            let cfg = idle::IdleCfg {
                conns: a.conns,
                join_rooms: a.join_rooms,
                settle: secs(a.settle),
                hold: secs(a.hold),
                connect_concurrency: a.concurrency,
                setup_timeout: Duration::from_secs(60),
            };
            let r = rt.block_on(idle::run(spec, cfg, c.pid));
            let ok = r.connected > 0;
            finish(c.json, &r, r.table(), ok)
        }
        Cmd::Connect(a) => {
            let spec = c.spec(c.dialect(), c.addr, 1024);
            let cfg = connect::ConnectCfg {
                duration: secs(a.duration),
                concurrency: a.concurrency,
            };
            let r = rt.block_on(connect::run(spec, cfg, c.pid));
            let ok = r.completed > 0;
            finish(c.json, &r, r.table(), ok)
        }
        Cmd::Store(a) => {
            let spec = c.spec(c.dialect(), c.addr, 64 * 1024);
            let cfg = store::StoreCfg {
                senders: a.senders,
                rate: a.rate,
                inflight: a.inflight,
                duration: secs(a.duration),
                payload: a.payload,
                words: false,
                limit: 0,
            };
            let r = rt.block_on(store::run(spec, cfg, c.pid));
            let ok = r.acked > 0;
            finish(c.json, &r, r.table(), ok)
        }
        Cmd::Reactions(a) => {
            let spec = c.spec(c.dialect(), c.addr, 64 * 1024);
            let cfg = reactions::ReactionsCfg {
                members: a.members,
                spread: secs(a.spread),
                drain: secs(10.0),
                budget_bytes: a.budget_bytes,
                connect_concurrency: 100,
            };
            let r = rt.block_on(reactions::run(spec, cfg, c.pid));
            let ok = r.held();
            finish(c.json, &r, r.table(), ok)
        }
        Cmd::Bench(a) => {
            drop(rt);
            match bench::run(&c, *a) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
