//! `banter post ROOM TEXT`: posts one message and prints its `seq`. v1.2: `--reply-to SEQ` posts
//! it in that message's thread; `--edit SEQ` replaces your message's text with TEXT;
//! `--delete SEQ`, `--react SEQ EMOJI` and `--unreact SEQ EMOJI` take no TEXT. For a change, the
//! printed `seq` is the change entry's.

use banter_client::{Client, ClientError, http::Http};
use clap::Args;

use super::ConnArgs;

#[derive(Debug, Clone, Args)]
pub struct PostArgs {
    /// The room to post to.
    pub room: String,
    /// The message text (with `--edit`: the new text).
    #[arg(required_unless_present_any = ["delete", "react", "unreact"])]
    pub text: Option<String>,
    /// Post the message as a reply to message SEQ (a reply to a reply joins its thread).
    #[arg(long, value_name = "SEQ", conflicts_with_all = ["edit", "delete", "react", "unreact"])]
    pub reply_to: Option<u64>,
    /// Replace the text of your message SEQ with TEXT.
    #[arg(long, value_name = "SEQ", conflicts_with_all = ["delete", "react", "unreact"])]
    pub edit: Option<u64>,
    /// Delete message SEQ (yours; a moderator's or admin's: any).
    #[arg(long, value_name = "SEQ", conflicts_with_all = ["text", "react", "unreact"])]
    pub delete: Option<u64>,
    /// React to message SEQ with EMOJI.
    #[arg(long, num_args = 2, value_names = ["SEQ", "EMOJI"], conflicts_with_all = ["text", "unreact"])]
    pub react: Option<Vec<String>>,
    /// Take back your reaction EMOJI to message SEQ.
    #[arg(long, num_args = 2, value_names = ["SEQ", "EMOJI"], conflicts_with = "text")]
    pub unreact: Option<Vec<String>>,
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

/// What one `banter post` asks.
enum Action {
    Post {
        text: String,
        reply_to: Option<u64>,
    },
    Edit {
        seq: u64,
        text: String,
    },
    Delete {
        seq: u64,
    },
    React {
        seq: u64,
        emoji: String,
        remove: bool,
    },
}

impl PostArgs {
    fn action(&self) -> anyhow::Result<Action> {
        let text = self.text.clone().unwrap_or_default();
        let reaction = |pair: &[String], remove| -> anyhow::Result<Action> {
            let [seq, emoji] = pair else {
                anyhow::bail!("--react and --unreact take SEQ EMOJI");
            };
            let seq = seq
                .parse()
                .map_err(|_| anyhow::anyhow!("not a message seq: {seq}"))?;
            let emoji = emoji.clone();
            Ok(Action::React { seq, emoji, remove })
        };
        Ok(match (self.edit, self.delete, &self.react, &self.unreact) {
            (Some(seq), ..) => Action::Edit { seq, text },
            (_, Some(seq), ..) => Action::Delete { seq },
            (_, _, Some(pair), _) => reaction(pair, false)?,
            (_, _, _, Some(pair)) => reaction(pair, true)?,
            _ => Action::Post {
                text,
                reply_to: self.reply_to,
            },
        })
    }
}

pub async fn post(args: PostArgs) -> anyhow::Result<()> {
    let cfg = args.conn.client_config(&args.user);
    let action = args.action()?;
    let room = args.room.as_str();
    let posting = async {
        if args.ws {
            let client = Client::start(cfg)?;
            client.join(room, None)?;
            over_ws(&client, room, action).await
        } else {
            over_http(&Http::new(&cfg)?, room, action).await
        }
    };
    let seq = tokio::time::timeout(args.timeout, posting)
        .await
        .map_err(|_| anyhow::anyhow!("not stored within {:?}", args.timeout))??;
    println!("{seq}");
    Ok(())
}

async fn over_ws(client: &Client, room: &str, action: Action) -> Result<u64, ClientError> {
    match action {
        Action::Post {
            text,
            reply_to: None,
        } => client.send(room, &text).await,
        Action::Post {
            text,
            reply_to: Some(root),
        } => client.reply(room, root, &text).await,
        Action::Edit { seq, text } => client.edit(room, seq, &text).await,
        Action::Delete { seq } => client.delete(room, seq).await,
        Action::React { seq, emoji, remove } => client.react(room, seq, &emoji, remove).await,
    }
}

async fn over_http(http: &Http, room: &str, action: Action) -> Result<u64, ClientError> {
    match action {
        Action::Post { text, reply_to } => Ok(http.post(room, &text, reply_to).await?.seq),
        Action::Edit { seq, text } => http.edit(room, seq, &text).await,
        Action::Delete { seq } => http.delete(room, seq).await,
        Action::React { seq, emoji, remove } => http.react(room, seq, &emoji, remove).await,
    }
}
