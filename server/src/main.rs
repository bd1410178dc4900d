//! The `banter` binary: flags, logging, signals; everything else is in the library.
//!
//! `banter [FLAGS]` serves. Subcommands are tools around the server: `banter token` and
//! `banter invite` sign tokens for `--auth token` (see `docs/security.md`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use banter_server::Config;
use banter_server::auth::{TokenIdentity, load_secret};
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// `banter` with no subcommand serves, with the server's flags; a subcommand runs a tool.
#[derive(Debug, Parser)]
#[command(
    name = "banter",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a signed token for `--auth token` servers (for bots, scripts and tests).
    Token(TokenArgs),
    /// Print a sign-in link for the web app: BASE/#token=... (a URL fragment is never sent to
    /// a server, so the token stays out of server logs).
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
    /// The user the token names (its `sub`).
    #[arg(long)]
    sub: String,
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
        config
            .limits()
            .name(&self.sub)
            .map_err(|e| anyhow::anyhow!("--sub: {e}"))?;
        let rooms = (!self.rooms.is_empty()).then(|| self.rooms.clone());
        Ok(TokenIdentity::new(&secret, config.limits()).issue(&self.sub, self.ttl, rooms)?)
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Token(t)) => println!("{}", t.sign()?),
        Some(Command::Invite { token, url }) => {
            println!("{}/#token={}", url.trim_end_matches('/'), token.sign()?);
        }
        None => serve(cli.config)?,
    }
    Ok(())
}

#[tokio::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(
        "banter {} listening on http://{} (auth: {:?})",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?,
        config.auth
    );
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
