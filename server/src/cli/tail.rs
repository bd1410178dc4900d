//! `banter tail ROOM`: prints a room's messages as they arrive, each once and in order, resuming
//! across disconnects (with `--since N`, from after `seq` N).
//!
//! v1.2 entries are shown as what they are, never as new messages: `#45 bob (re #42 ada): on it`
//! for a reply (with its thread's root), `✎ #42 ada: new text` for an edit, `✗ #42 deleted by
//! ada` for a deletion, `+👍 #42 bob` / `-👍 #42 bob` for a reaction given or taken back
//! (`+(erased) #42 bob` replayed after its message was deleted, which erased the emoji). A
//! replayed message comes in its current state: `(edited)` after an edited text, `(deleted)` for
//! a tombstone. With `--json`, a message is its JSON object as before and a change is its
//! `change` object (it has `target` and `kind`).

use std::collections::BTreeMap;
use std::io::Write;

use banter_client::{Client, Event};
use banter_protocol::{Change, ChangeKind, ChatMessage};
use clap::Args;

use super::ConnArgs;

/// Authors remembered to name a reply's thread root (the newest ones).
const AUTHORS_KEPT: usize = 10_000;

#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// The room to follow.
    pub room: String,
    /// Start after this `seq` (0 = from the oldest message held); without it, new messages only.
    #[arg(long)]
    pub since: Option<u64>,
    /// One JSON object per line (a `message`, or a `change`) instead of `#SEQ USER: TEXT`.
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
    let mut authors = Authors::default();
    while let Some(event) = client.next_event().await {
        let line = match event {
            Event::Message(m) if args.json => serde_json::to_string(&m)?,
            Event::Message(m) => {
                authors.add(&m);
                message_line(&m, &authors)
            }
            Event::Change { change, .. } if args.json => serde_json::to_string(&change)?,
            Event::Change { change, .. } => change_line(&change),
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

/// Who wrote the newest messages seen, by `seq`, to name a reply's root.
#[derive(Default)]
struct Authors(BTreeMap<u64, String>);

impl Authors {
    fn add(&mut self, m: &ChatMessage) {
        self.0.insert(m.seq, m.user.clone());
        while self.0.len() > AUTHORS_KEPT {
            self.0.pop_first();
        }
    }
}

/// `#SEQ USER: TEXT`, with the thread's root for a reply and the state of a replayed message.
fn message_line(m: &ChatMessage, authors: &Authors) -> String {
    let thread = match m.reply_to.map(|r| (r, authors.0.get(&r))) {
        Some((root, Some(by))) => format!(" (re #{root} {by})"),
        Some((root, None)) => format!(" (re #{root})"),
        None => String::new(),
    };
    let text = if m.deleted {
        "(deleted)".to_owned()
    } else if m.edited_ts.is_some() {
        format!("{} (edited)", m.text)
    } else {
        m.text.clone()
    };
    format!("#{} {}{thread}: {text}", m.seq, m.user)
}

/// One line per change: what happened to which message, by whom.
fn change_line(c: &Change) -> String {
    // A reaction to a message deleted since has lost its emoji (erased with the message).
    let emoji = c.emoji.as_deref().unwrap_or("(erased)");
    match c.kind {
        ChangeKind::Edit => match &c.text {
            Some(text) => format!("✎ #{} {}: {text}", c.target, c.user),
            None => format!("✎ #{} {} (edited; since deleted)", c.target, c.user),
        },
        ChangeKind::Delete => format!("✗ #{} deleted by {}", c.target, c.user),
        ChangeKind::React => format!("+{emoji} #{} {}", c.target, c.user),
        ChangeKind::Unreact => format!("-{emoji} #{} {}", c.target, c.user),
        kind => format!(
            "⚑ {} by {}: {}",
            kind.as_str(),
            c.user,
            c.text.as_deref().unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_entries_read_as_what_they_are() {
        let mut authors = Authors::default();
        let root = ChatMessage {
            seq: 42,
            user: "ada".into(),
            text: "ship it?".into(),
            ..Default::default()
        };
        authors.add(&root);
        let reply = ChatMessage {
            seq: 45,
            user: "bob".into(),
            text: "on it".into(),
            reply_to: Some(42),
            ..Default::default()
        };
        assert_eq!(
            message_line(&reply, &authors),
            "#45 bob (re #42 ada): on it"
        );
        let change = |kind, text: Option<&str>, emoji: Option<&str>| Change {
            room: "lobby".into(),
            seq: 46,
            target: 42,
            user: "ada".into(),
            ts: 0,
            kind,
            text: text.map(str::to_owned),
            emoji: emoji.map(str::to_owned),
        };
        let edit = change(ChangeKind::Edit, Some("ship it!"), None);
        assert_eq!(change_line(&edit), "✎ #42 ada: ship it!");
        let gone = change(ChangeKind::Delete, None, None);
        assert_eq!(change_line(&gone), "✗ #42 deleted by ada");
        let thumbs = change(ChangeKind::Unreact, None, Some("👍"));
        assert_eq!(change_line(&thumbs), "-👍 #42 ada");
    }
}
