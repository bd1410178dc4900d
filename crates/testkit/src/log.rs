//! A `banter` process's log (its stderr), read line by line on a thread of its own: the address
//! from the `listening on` line is the readiness signal; every line goes where the launch said
//! (kept for the test to read, appended to a file, or dropped), so the pipe never fills.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ChildStderr;
use std::sync::mpsc;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// Where a process's log lines go.
#[derive(Debug, Clone)]
pub(crate) enum Sink {
    /// To [`LogLines`], for the test to read (the lines after `listening on`).
    Keep,
    /// Appended to this file (every line).
    File(PathBuf),
    /// Nowhere.
    Discard,
}

/// The log lines a process wrote after it started listening.
pub struct LogLines {
    rx: UnboundedReceiver<String>,
}

impl LogLines {
    /// No lines (a process not started yet).
    pub(crate) fn none() -> LogLines {
        LogLines {
            rx: unbounded_channel().1,
        }
    }

    /// The next line; `None` once the process has ended and every line was read.
    pub async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        Ok(self.rx.recv().await)
    }
}

/// What the log said about starting: the address it listens on, or the lines it wrote before it
/// ended without listening.
pub(crate) type Started = Result<SocketAddr, String>;

/// Starts the thread reading `stderr` into `sink`.
pub(crate) fn watch(
    stderr: ChildStderr,
    sink: &Sink,
) -> std::io::Result<(mpsc::Receiver<Started>, LogLines)> {
    let mut file = match sink {
        Sink::File(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        _ => None,
    };
    let keep = matches!(sink, Sink::Keep);
    let (started_tx, started) = mpsc::channel();
    let (lines_tx, rx) = unbounded_channel();
    std::thread::spawn(move || {
        let mut before: Vec<String> = Vec::new();
        let mut listening = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(f) = &mut file {
                let _ = writeln!(f, "{line}");
            }
            if listening {
                if keep {
                    let _ = lines_tx.send(line);
                }
            } else if let Some(addr) = listening_on(&line) {
                listening = true;
                let _ = started_tx.send(Ok(addr));
            } else if before.len() < 100 {
                before.push(line);
            }
        }
        if !listening {
            let _ = started_tx.send(Err(before.join("\n")));
        }
    });
    Ok((started, LogLines { rx }))
}

/// The address of a `listening on http://ADDR …` line, text or JSON.
fn listening_on(line: &str) -> Option<SocketAddr> {
    let at = line.find("listening on ")?;
    // Text logs end the line with the URL; JSON logs close a string after it.
    let url = line[at + "listening on ".len()..]
        .split(|c: char| c.is_whitespace() || c == '"')
        .next()?;
    url.split("://").nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::listening_on;

    #[test]
    fn the_address_is_read_from_text_and_json_lines() {
        let text = "2026-12-06T05:00:00Z  INFO banter_server: banter 0.1.0 listening on http://127.0.0.1:4567 (auth: Open)";
        assert_eq!(listening_on(text), Some(([127, 0, 0, 1], 4567).into()));
        let json = r#"{"level":"INFO","message":"banter 0.1.0 listening on https://127.0.0.1:80 (auth: Open)"}"#;
        assert_eq!(listening_on(json), Some(([127, 0, 0, 1], 80).into()));
        assert_eq!(listening_on("connection opened"), None);
    }
}
