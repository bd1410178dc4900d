//! Command-line flags and environment variables: every setting and limit, with its default.
//!
//! Each flag can also be set through the `BANTER_*` variable named in `banter --help`.

pub mod search;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use banter_protocol::{AuthMode, Limits};
use clap::{Parser, ValueEnum};

pub mod accounts;

mod lifecycle;
pub mod rooms;

pub use lifecycle::LifecycleConfig;

use crate::hub::HubConfig;
use crate::limit::reads::ReadLimits;
use crate::store::{self, Retention, SqliteSync as Sync};

/// Banter: a realtime chat server. WebSocket on /ws, HTTP API on /api, the web app on /.
#[derive(Debug, Clone, Parser)]
#[command(name = "banter", version, about, long_about = None)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "BANTER_LISTEN", default_value = "0.0.0.0:3000")]
    pub listen: SocketAddr,

    /// Where messages are kept: `sqlite` (durable, in --data-dir), `memory` (nothing on disk;
    /// every room starts over, in a new epoch, at each start) or `redis` (a cluster: shared
    /// with every node given the same --redis).
    #[arg(
        long,
        env = "BANTER_STORE",
        default_value = "sqlite",
        value_parser = clap::builder::PossibleValuesParser::new(store::open::names())
    )]
    pub store: String,

    /// The Redis a cluster shares (e.g. `redis://127.0.0.1:6379/`), shared with every node given
    /// the same URL. Several URLs, separated by commas, shard rooms over several Redis (every
    /// node lists the same, in the same order). An entry
    /// `redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER_NAME` follows the master Sentinel names.
    /// Giving it means `--store redis` (a shorthand kept from before `--store` named Redis).
    #[arg(long, env = "BANTER_REDIS_URL")]
    pub redis: Option<String>,

    /// Directory of the durable store (created if missing; holds `banter.db`).
    #[arg(long, env = "BANTER_DATA_DIR", default_value = "banter-data")]
    pub data_dir: PathBuf,

    /// How hard each commit pushes to disk: `full` (fsync per commit: an acked message survives
    /// power loss) or `normal` (survives a crash of Banter, not of the machine).
    #[arg(long, env = "BANTER_SQLITE_SYNC", value_enum, default_value_t = Sync::Full)]
    pub sqlite_sync: Sync,

    /// Messages waiting to be written at most; more are refused with `unavailable` (retry).
    #[arg(long, env = "BANTER_STORE_QUEUE", default_value_t = 2048)]
    pub store_queue: usize,

    /// The most messages one transaction commits (group commit); 1 = a commit per message, for
    /// comparison.
    #[arg(long, env = "BANTER_STORE_BATCH", default_value_t = 1024)]
    pub store_batch: usize,

    /// Largest the database may grow, in bytes (0 = no limit; SQLite's `max_page_count`). Once
    /// it is full, posts are refused with `unavailable` (nothing is acked), reads and history
    /// are still served, and posting works again once space is freed (e.g. by retention).
    #[arg(long, env = "BANTER_STORE_MAX_BYTES", default_value_t = 0)]
    pub store_max_bytes: u64,

    /// Keep only the newest N messages per room (0 = keep all).
    #[arg(long, env = "BANTER_RETAIN_MESSAGES", default_value_t = 0)]
    pub retain_messages: u64,

    /// Delete messages older than this (e.g. `90d`; unset = keep forever).
    #[arg(long, env = "BANTER_RETAIN_AGE", value_parser = humantime::parse_duration)]
    pub retain_age: Option<Duration>,

    /// Messages per loaded room kept in memory (its hot window) for fast replay; with
    /// `--store memory`, all that a room keeps.
    #[arg(long, env = "BANTER_HISTORY", default_value_t = 1000)]
    pub history: usize,

    /// Bytes all hot windows together may hold in memory.
    #[arg(long, env = "BANTER_HOT_WINDOW_BYTES", default_value_t = 64 << 20)]
    pub hot_window_bytes: usize,

    /// The most messages one `join` replays; a client further behind gets the newest ones with
    /// `complete: false` and pages back with `GET ...?before=`.
    #[arg(long, env = "BANTER_MAX_REPLAY", default_value_t = 10_000)]
    pub max_replay: u64,

    /// Longest message text, in characters (after trimming).
    #[arg(long, env = "BANTER_MAX_TEXT_CHARS", default_value_t = 4000)]
    pub max_text_chars: usize,

    /// Largest WebSocket message, in bytes; a larger one closes the socket with 1009.
    #[arg(long, env = "BANTER_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Longest user name, in characters (after trimming).
    #[arg(long, env = "BANTER_MAX_NAME_CHARS", default_value_t = 32)]
    pub max_name_chars: usize,

    /// Longest room name, in characters.
    #[arg(long, env = "BANTER_MAX_ROOM_CHARS", default_value_t = 64)]
    pub max_room_chars: usize,

    /// Longest `client_id`, in characters.
    #[arg(long, env = "BANTER_MAX_CLIENT_ID_CHARS", default_value_t = 64)]
    pub max_client_id_chars: usize,

    /// Sustained messages per second one connection may send (0 = unlimited).
    #[arg(long, env = "BANTER_RATE_PER_SEC", default_value_t = 20)]
    pub rate_per_sec: u32,

    /// Burst of messages one connection may send above the sustained rate.
    #[arg(long, env = "BANTER_RATE_BURST", default_value_t = 40)]
    pub rate_burst: u32,

    /// Outbound queue per connection, in frames; a client that fills it is closed with 4000.
    #[arg(long, env = "BANTER_CLIENT_QUEUE", default_value_t = 1024)]
    pub client_queue: usize,

    /// How often the server pings each WebSocket.
    #[arg(long, env = "BANTER_PING_INTERVAL", default_value = "20s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// A peer silent (not even a pong) for this long is disconnected.
    #[arg(long, env = "BANTER_IDLE_TIMEOUT", default_value = "45s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// How long a `client_id` is remembered, so a re-sent message is stored once.
    #[arg(long, env = "BANTER_DEDUPE_WINDOW", default_value = "5m", value_parser = humantime::parse_duration)]
    pub dedupe_window: Duration,

    /// How many `client_id`s each room remembers at most (`--store memory`; the durable store
    /// remembers every one within the window).
    #[arg(long, env = "BANTER_DEDUPE_CAPACITY", default_value_t = 1000)]
    pub dedupe_capacity: usize,

    /// Rooms loaded in memory at once (a room is loaded while someone is in it); with
    /// `--store memory`, rooms it holds (past it, a room nobody is in is forgotten).
    #[arg(long, env = "BANTER_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,

    /// How many rooms one connection may be in at once.
    #[arg(long, env = "BANTER_MAX_ROOMS_PER_CONNECTION", default_value_t = 100)]
    pub max_rooms_per_connection: usize,

    /// Open WebSocket connections allowed; more are refused at the door with 503.
    #[arg(long, env = "BANTER_MAX_CONNECTIONS", default_value_t = 100_000)]
    pub max_connections: usize,

    /// Origins allowed to open a WebSocket (repeat the flag, or comma-separate in the variable).
    /// Unset: any origin. Requests without an Origin header (non-browser clients) are allowed.
    #[arg(
        long = "allowed-origin",
        env = "BANTER_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Largest HTTP request body, in bytes.
    #[arg(long, env = "BANTER_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// On shutdown, how long to wait for connections to close after sending them 1001.
    #[arg(long, env = "BANTER_SHUTDOWN_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// WebSocket read buffer per connection, in bytes. Client frames are small; a larger one
    /// just takes more reads. Most of an idle connection's memory is this buffer.
    #[arg(long, env = "BANTER_WS_READ_BUFFER", default_value_t = 256)]
    pub ws_read_buffer: usize,

    /// WebSocket write buffer per connection, in bytes (frames are batched up to this size).
    #[arg(long, env = "BANTER_WS_WRITE_BUFFER", default_value_t = 16 * 1024)]
    pub ws_write_buffer: usize,

    // --- Identity and abuse resistance (docs/security.md) ---
    /// `open`: clients choose their names (v1). `token`: the first WebSocket frame must be
    /// `auth` with an HS256 token, HTTP needs `Authorization: Bearer`; the user is the `sub`.
    /// `accounts`: `token`, where people also sign up with an invite and sign in with a
    /// password (docs/security.md).
    #[arg(long, env = "BANTER_AUTH", value_enum, default_value_t = AuthKind::Open)]
    pub auth: AuthKind,

    /// File holding the HMAC-SHA256 key for `--auth token` (whitespace around it is trimmed).
    #[arg(long, env = "BANTER_AUTH_SECRET_FILE")]
    pub auth_secret_file: Option<PathBuf>,

    /// The key itself, from the environment only (a flag would show it in `ps`).
    #[arg(
        long = "auth-secret",
        env = "BANTER_AUTH_SECRET",
        hide = true,
        hide_env_values = true
    )]
    pub auth_secret: Option<String>,

    /// A WebSocket that sends no valid frame within this time of the upgrade is closed (token
    /// mode: no `auth` → 4001; open mode: no accepted `join` → 1008). 0 = no limit.
    #[arg(long, env = "BANTER_AUTH_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub auth_timeout: Duration,

    /// Sustained HTTP requests per second per client address, and per token (0 = unlimited);
    /// over it: `429` with `retry-after`.
    #[arg(long, env = "BANTER_HTTP_RATE_PER_SEC", default_value_t = 20)]
    pub http_rate_per_sec: u32,

    /// Burst of HTTP requests allowed above the sustained rate.
    #[arg(long, env = "BANTER_HTTP_RATE_BURST", default_value_t = 60)]
    pub http_rate_burst: u32,

    /// Client addresses and tokens whose HTTP rate is tracked at once; past it, the oldest
    /// quiet ones are forgotten first (bounds the limiter's memory).
    #[arg(long, env = "BANTER_HTTP_RATE_KEYS", default_value_t = 100_000)]
    pub http_rate_keys: usize,

    /// An HTTP connection must send a request's complete headers within this time, including
    /// while it sits idle between keep-alive requests (else it is closed); a new connection its
    /// first request's, counted from accept (TLS handshake and HTTP/1-or-2 detection included).
    #[arg(long, env = "BANTER_HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub http_header_timeout: Duration,

    /// Longest time an HTTP request may take, body included (over: `408`).
    #[arg(long, env = "BANTER_HTTP_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub http_request_timeout: Duration,

    /// Open WebSockets allowed from one client address (0 = unlimited); more: `429` at the door.
    #[arg(long, env = "BANTER_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,

    // --- Sockets and proxies (issue 20; docs/security.md "Sockets and proxies") ---
    /// Open TCP connections allowed from one peer address, HTTP and WebSocket together, counted
    /// at accept before anything is read (0 = unlimited); one more is closed at once. Trusted
    /// proxies are not counted (they carry many clients).
    #[arg(long, env = "BANTER_MAX_TCP_CONNECTIONS_PER_IP", default_value_t = 512)]
    pub max_tcp_connections_per_ip: usize,

    /// A connection whose peer accepts none of what the server writes for this long is closed
    /// (HTTP responses and WebSockets alike; 0 = never).
    #[arg(long, env = "BANTER_WRITE_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub write_timeout: Duration,

    /// A reverse proxy whose `X-Forwarded-For` is believed: an address or a network
    /// (`10.0.0.0/8`); repeat the flag, or comma-separate in the variable. For requests from
    /// these peers the client is the rightmost entry that is not itself a trusted proxy.
    #[arg(
        long = "trusted-proxy",
        env = "BANTER_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::limit::proxy::parse_net
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    // --- Replays and loaded rooms, per connection, room, address and node (docs/security.md) ---
    /// Outbound queue per connection, in bytes; a client that fills it is closed with 4000.
    #[arg(long, env = "BANTER_CLIENT_QUEUE_BYTES", default_value_t = 8 << 20)]
    pub client_queue_bytes: usize,

    /// Messages a replay reads and queues at a time: a replay holds at most this many per
    /// connection, and reads on as the client takes them.
    #[arg(long, env = "BANTER_REPLAY_CHUNK", default_value_t = 256)]
    pub replay_chunk: usize,

    /// Store reads for joins and replays at once on this node (more wait their turn).
    #[arg(long, env = "BANTER_REPLAY_READS", default_value_t = 8)]
    pub replay_reads: usize,

    /// Store reads for joins and replays of one room at once.
    #[arg(long, env = "BANTER_REPLAY_READS_PER_ROOM", default_value_t = 2)]
    pub replay_reads_per_room: usize,

    /// Joins that may wait for a store read at once; more are refused with `unavailable`.
    #[arg(long, env = "BANTER_REPLAY_QUEUE", default_value_t = 10_000)]
    pub replay_queue: usize,

    /// `--store memory`: bytes of messages all rooms together may hold; past it, rooms nobody is
    /// in are forgotten (least recently written first; one written again starts a new epoch).
    #[arg(long, env = "BANTER_MEMORY_STORE_BYTES", default_value_t = 256 << 20)]
    pub memory_store_bytes: usize,

    /// Distinct rooms the WebSockets of one client address may be in at once (0 = unlimited);
    /// keep it well below --max-rooms, so one address cannot load every room.
    #[arg(long, env = "BANTER_MAX_ROOMS_PER_IP", default_value_t = 1000)]
    pub max_rooms_per_ip: usize,

    // --- Operations: TLS and logs ---
    /// TLS certificate chain (PEM). With `--tls-key`, the port serves https:// and wss://.
    #[arg(long, env = "BANTER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM) for `--tls-cert`.
    #[arg(long, env = "BANTER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How often the TLS files are checked for changes (reloaded when changed; SIGHUP reloads
    /// at once). 0 = only on SIGHUP.
    #[arg(long, env = "BANTER_TLS_WATCH_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub tls_watch_interval: Duration,

    /// A TLS handshake not finished within this time is dropped.
    #[arg(long, env = "BANTER_TLS_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub tls_handshake_timeout: Duration,

    /// Log format: `text` for people, `json` (one object a line) for log collectors.
    /// The level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "BANTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How often coalesced presence (joined/left/typing) is sent to rooms.
    #[arg(long, env = "BANTER_PRESENCE_INTERVAL", default_value = "250ms", value_parser = humantime::parse_duration)]
    pub presence_interval: Duration,

    /// Presence frames per room per interval at most, fewer in rooms over 1,000 members (one
    /// flush delivers at most 32,000 frames); more changes wait, up to 8 times this many, then
    /// are dropped: in a storm, presence is best effort and `joined` authoritative.
    #[arg(long, env = "BANTER_PRESENCE_BATCH", default_value_t = 32)]
    pub presence_batch: usize,

    /// Names listed in a `joined` at most; `users_total` then gives the count.
    #[arg(long, env = "BANTER_JOINED_MAX_USERS", default_value_t = 100)]
    pub joined_max_users: usize,

    /// Threads that serve connections (0 = one per CPU core). Several nodes sharing one
    /// machine do best with their share of its cores each.
    #[arg(long, env = "BANTER_WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,

    #[command(flatten)]
    pub accounts: accounts::AccountsConfig,

    #[command(flatten)]
    pub lifecycle: LifecycleConfig,

    #[command(flatten)]
    pub search: search::SearchConfig,

    #[command(flatten)]
    pub rooms: rooms::RoomsConfig,
}

/// `--auth`: how clients are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthKind {
    Open,
    Token,
    Accounts,
}

impl From<AuthKind> for AuthMode {
    fn from(k: AuthKind) -> Self {
        match k {
            AuthKind::Open => AuthMode::Open,
            AuthKind::Token | AuthKind::Accounts => AuthMode::Token,
        }
    }
}

/// The `--log-format` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The configuration with every default, listening on `listen`. For tests and embedding.
    pub fn with_listen(listen: SocketAddr) -> Self {
        let mut cfg = Config::parse_from(["banter"]);
        cfg.listen = listen;
        cfg
    }

    /// The limits announced to clients in `welcome`.
    pub fn limits(&self) -> Limits {
        Limits {
            max_text_chars: self.max_text_chars,
            max_frame_bytes: self.max_frame_bytes,
            max_name_chars: self.max_name_chars,
            max_room_chars: self.max_room_chars,
            max_client_id_chars: self.max_client_id_chars,
            rate_per_sec: self.rate_per_sec,
            rate_burst: self.rate_burst,
        }
    }

    pub fn hub(&self) -> HubConfig {
        HubConfig {
            limits: self.limits(),
            history: self.history,
            window_budget: self.hot_window_bytes,
            max_replay: self.max_replay,
            max_rooms: self.max_rooms,
            client_queue: self.client_queue,
            client_queue_bytes: self.client_queue_bytes,
            replay_chunk: self.replay_chunk,
            replay_reads: ReadLimits {
                node: self.replay_reads,
                per_room: self.replay_reads_per_room,
                queue: self.replay_queue,
            },
            presence_batch: self.presence_batch,
            joined_max_users: self.joined_max_users,
            lifecycle: self.lifecycle,
            rooms: self.rooms,
        }
    }

    /// The store's settings (see [`store::open`]). `--redis` means `--store redis`.
    pub fn store_settings(&self) -> store::Settings {
        let kind = match &self.redis {
            Some(_) => "redis",
            None => self.store.as_str(),
        };
        store::Settings {
            kind: kind.to_owned(),
            redis_url: self.redis.clone(),
            data_dir: self.data_dir.clone(),
            sqlite_sync: self.sqlite_sync,
            queue: self.store_queue,
            batch: self.store_batch,
            max_bytes: self.store_max_bytes,
            retention: Retention {
                messages: (self.retain_messages > 0).then_some(self.retain_messages),
                age: self.retain_age,
            },
            dedupe_window: self.dedupe_window,
            dedupe_capacity: self.dedupe_capacity,
            history: self.history,
            max_rooms: self.max_rooms,
            memory_bytes: self.memory_store_bytes,
            aof_rewrite_after_delete: self.lifecycle.redis_aof_rewrite_after_delete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent_and_defaults_match_the_contract() {
        Config::command().debug_assert();
        let cfg = Config::parse_from(["banter"]);
        assert_eq!(cfg.limits(), Limits::default());
        assert_eq!(cfg.listen.port(), 3000);
        assert!(cfg.ping_interval < cfg.idle_timeout);
    }

    #[test]
    fn the_store_is_chosen_by_name_and_redis_alone_means_the_redis_store() {
        let kind = |args: &[&str]| {
            let args = std::iter::once("banter").chain(args.iter().copied());
            Config::parse_from(args).store_settings().kind
        };
        assert_eq!(kind(&[]), "sqlite");
        assert_eq!(kind(&["--store", "memory"]), "memory");
        assert_eq!(kind(&["--redis", "redis://127.0.0.1:1/"]), "redis");
        assert_eq!(
            kind(&["--store", "redis", "--redis", "redis://h/"]),
            "redis"
        );
        assert!(Config::try_parse_from(["banter", "--store", "postgres"]).is_err());
        let alone = Config::parse_from(["banter", "--store", "redis"]).store_settings();
        let Err(e) = store::open(&alone) else {
            panic!("a Redis store needs its URL")
        };
        assert!(e.to_string().contains("--redis"), "{e}");
    }
}
