//! `banter post ROOM TEXT`: posts one message and prints its `seq`.

use banter_client::{Client, post_http};
use clap::Args;

use super::ConnArgs;

#[derive(Debug, Clone, Args)]
pub struct PostArgs {
    /// The room to post to.
    pub room: String,
    /// The message text.
    pub text: String,
    /// The name to post as (ignored with a token: the token names the user).
    #[arg(long, env = "BANTER_USER", default_value = "bot")]
    pub user: String,
    /// Post over the WebSocket (join, send, wait for the ack) instead of HTTP.
    #[arg(long)]
    pub ws: bool,
    /// Give up when the message is not stored within this time (reconnecting meanwhile).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub conn: ConnArgs,
}

pub async fn post(args: PostArgs) -> anyhow::Result<()> {
    let cfg = args.conn.client_config(&args.user);
    let posting = async {
        if args.ws {
            let client = Client::start(cfg)?;
            client.join(&args.room, None)?;
            client.send(&args.room, &args.text).await
        } else {
            Ok(post_http(&cfg, &args.room, &args.text).await?.seq)
        }
    };
    let seq = tokio::time::timeout(args.timeout, posting)
        .await
        .map_err(|_| anyhow::anyhow!("not stored within {:?}", args.timeout))??;
    println!("{seq}");
    Ok(())
}
