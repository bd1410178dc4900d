//! `banter tail ROOM`: prints a room's messages as they arrive, each once and in order, resuming
//! across disconnects (with `--since N`, from after `seq` N).

use std::io::Write;

use banter_client::{Client, Event};
use clap::Args;

use super::ConnArgs;

#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// The room to follow.
    pub room: String,
    /// Start after this `seq` (0 = from the oldest message held); without it, new messages only.
    #[arg(long)]
    pub since: Option<u64>,
    /// One JSON `message` object per line instead of `#SEQ USER: TEXT`.
    #[arg(long)]
    pub json: bool,
    /// The name to join as (ignored with a token).
    #[arg(long, env = "BANTER_USER", default_value = "tail")]
    pub user: String,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn tail(args: TailArgs) -> anyhow::Result<()> {
    let mut client = Client::start(args.conn.client_config(&args.user))?;
    client.join(&args.room, args.since)?;
    let mut out = std::io::stdout();
    while let Some(event) = client.next_event().await {
        let line = match event {
            Event::Message(m) if args.json => serde_json::to_string(&m)?,
            Event::Message(m) => format!("#{} {}: {}", m.seq, m.user, m.text),
            Event::Gap { room } => {
                eprintln!("note: some messages of {room} are no longer held by the server");
                continue;
            }
            Event::Refused {
                code,
                message,
                client_id: None,
            } => anyhow::bail!("refused: {code}: {message}"),
            _ => continue,
        };
        // A closed pipe (`banter tail lobby | head`) ends the command quietly.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
    anyhow::bail!("the connection stopped")
}
