//! The `banter` binary: settings (flags, environment, config file), logging, signals, and the
//! subcommands. With no subcommand it serves; everything the server does is in the library.
//!
//! Subcommands are the [`Command`] enum: each is one variant with its own `clap::Args` and one
//! function in `cli/`, so adding one is one variant, one match arm and one file.

mod cli;

use std::path::PathBuf;

use anyhow::Context;
use banter_server::Config;
use banter_server::config::LogFormat;
use banter_server::config_file::{self, ConfigError};
use clap::{CommandFactory, Parser, Subcommand};
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (cli, matches) = match config_file::parse::<Cli>(std::env::args_os().collect()) {
        Ok(parsed) => parsed,
        Err(ConfigError::Clap(e)) => e.exit(),
        Err(e) => return Err(e.into()),
    };
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
