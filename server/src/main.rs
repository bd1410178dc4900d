//! The `banter` binary: settings (flags, environment, config file), logging, signals, and the
//! subcommands. With no subcommand it serves; everything the server does is in the library.
//!
//! Subcommands are the [`Command`] enum: each is one variant with its own `clap::Args` and one
//! function in `cli/`, so adding one is one variant, one match arm and one file. `banter token`
//! and `banter invite` sign tokens for `--auth token`; `banter user` and `banter invite` without
//! `--sub` manage `--auth accounts` (see `docs/security.md`).

mod cli;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use banter_server::Config;
use banter_server::auth::{TokenIdentity, load_secret};
use banter_server::config::LogFormat;
use banter_server::config_file::{self, ConfigError};
use clap::{Args, CommandFactory, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Banter: a realtime chat server. WebSocket on /ws, HTTP API on /api, the web app on /.
/// Without a subcommand, `banter` serves.
#[derive(Debug, Parser)]
#[command(name = "banter", version, about, long_about = None)]
struct Cli {
    /// Read settings from this TOML file; its keys are the flag names (`history = 5000`).
    /// Flags and `BANTER_*` variables override it.
    #[arg(long, env = "BANTER_CONFIG")]
    config: Option<PathBuf>,

    /// Print the effective settings as TOML (secrets hidden) and exit.
    #[arg(long)]
    print_config: bool,

    #[command(flatten)]
    server: Config,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Post one message to a room (HTTP by default, or --ws) and print its seq.
    Post(cli::PostArgs),
    /// Print a room's messages as they arrive, resuming across disconnects.
    Tail(cli::TailArgs),
    /// Manage `--auth accounts` users in the server's store (the same --data-dir or --redis),
    /// also while it runs.
    User(cli::UserArgs),
    /// Rebuild the search index from the stored messages (the server's own settings), then
    /// exit. Run it while the server is stopped.
    Reindex,
    /// Print a signed token for `--auth token` servers (for bots, scripts and tests).
    Token(TokenArgs),
    /// With `--sub`: print a sign-in link for the web app: BASE/#token=... (a URL fragment is
    /// never sent to a server, so the token stays out of server logs). Without (`--auth
    /// accounts`): store a single-use sign-up code, valid for `--ttl`, and print its link
    /// BASE/#invite=CODE.
    Invite {
        #[command(flatten)]
        token: TokenArgs,
        /// The web app's address.
        #[arg(
            long,
            env = "BANTER_PUBLIC_URL",
            default_value = "http://localhost:3000"
        )]
        url: String,
    },
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The user the token names (its `sub`); required but by `banter invite` for a sign-up code.
    #[arg(long)]
    sub: Option<String>,
    /// How long the token is valid (e.g. `1h`, `7d`).
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    ttl: Duration,
    /// Rooms the token may use (repeat, or comma-separate); none: every room.
    #[arg(long = "room", value_delimiter = ',')]
    rooms: Vec<String>,
    /// The server's key file (as `--auth-secret-file`).
    #[arg(long, env = "BANTER_AUTH_SECRET_FILE")]
    auth_secret_file: Option<PathBuf>,
    /// The key itself, from the environment only.
    #[arg(
        long = "auth-secret",
        env = "BANTER_AUTH_SECRET",
        hide = true,
        hide_env_values = true
    )]
    auth_secret: Option<String>,
}

impl TokenArgs {
    fn sign(&self) -> anyhow::Result<String> {
        let secret = load_secret(
            self.auth_secret_file.as_deref(),
            self.auth_secret.as_deref(),
        )?;
        let config = Config::with_listen(([127, 0, 0, 1], 0).into());
        let Some(sub) = &self.sub else {
            anyhow::bail!("--sub NAME is required: the user the token names");
        };
        config
            .limits()
            .name(sub)
            .map_err(|e| anyhow::anyhow!("--sub: {e}"))?;
        let rooms = (!self.rooms.is_empty()).then(|| self.rooms.clone());
        Ok(TokenIdentity::new(&secret, config.limits()).issue(sub, self.ttl, rooms)?)
    }
}

/// Errors end the process with one line on stderr (no backtrace): what went wrong and, where
/// it can, what to do.
fn main() -> std::process::ExitCode {
    let (cli, matches) = match config_file::parse::<Cli>(std::env::args_os().collect()) {
        Ok(parsed) => parsed,
        Err(ConfigError::Clap(e)) => e.exit(),
        Err(e) => return fail(e.into()),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if cli.server.worker_threads > 0 {
        runtime.worker_threads(cli.server.worker_threads);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(anyhow::Error::new(e).context("cannot start the runtime")),
    };
    match runtime.block_on(run(cli, matches)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> std::process::ExitCode {
    eprintln!("banter: {e:#}");
    std::process::ExitCode::FAILURE
}

async fn run(cli: Cli, matches: clap::ArgMatches) -> anyhow::Result<()> {
    if cli.print_config {
        print!("{}", config_file::effective_toml(&Cli::command(), &matches));
        return Ok(());
    }
    let default_level = if cli.command.is_some() {
        "warn"
    } else {
        "info"
    };
    init_logging(cli.server.log_format, default_level);
    match cli.command {
        None => serve(cli.server).await,
        Some(Command::Post(args)) => cli::post(args).await,
        Some(Command::Tail(args)) => cli::tail(args).await,
        Some(Command::Reindex) => cli::reindex(cli.server).await,
        Some(Command::Token(t)) => {
            println!("{}", t.sign()?);
            Ok(())
        }
        Some(Command::User(args)) => cli::user(&cli.server, args),
        Some(Command::Invite { token, url }) if token.sub.is_none() => {
            cli::invite_code(&cli.server, &url, token.ttl)
        }
        Some(Command::Invite { token, url }) => {
            println!("{}/#token={}", url.trim_end_matches('/'), token.sign()?);
            Ok(())
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal, never in the journal or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    banter_server::run(listener, config, shutdown_signal()).await?;
    tracing::info!("bye");
    Ok(())
}
/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
