//! The client subcommands of the `banter` binary, for scripts and bots: `post` and `tail`, on
//! the `banter-client` library. Output is for pipes: one line per result on stdout, diagnostics
//! on stderr.

mod post;
mod reindex;
mod tail;
mod user;

pub use post::{PostArgs, post};
pub use reindex::reindex;
pub use tail::{TailArgs, tail};
pub use user::{UserArgs, invite_code, user};

use banter_client::ClientConfig;
use clap::Args;

/// Where the server is and how to prove who we are: shared by every client subcommand.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// The server's base URL.
    #[arg(long, env = "BANTER_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,

    /// A signed token, for servers started with `--auth token` (sent as `auth` over the
    /// WebSocket, `Authorization: Bearer` over HTTP).
    #[arg(long, env = "BANTER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Extra certificates to trust (PEM), for a server with a private or self-signed
    /// certificate; the system's store is always trusted.
    #[arg(long, env = "BANTER_CA_CERT")]
    pub ca_cert: Option<std::path::PathBuf>,
}

impl ConnArgs {
    fn client_config(&self, user: &str) -> ClientConfig {
        let mut cfg = ClientConfig::new(self.url.clone(), user);
        cfg.token = self.token.clone();
        cfg.ca_file = self.ca_cert.clone();
        cfg
    }
}
