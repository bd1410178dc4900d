//! `banter post --reply-to/--edit/--delete/--react/--unreact` and how `banter tail` shows them
//! (v1.2): real processes against a real server, over HTTP and over the WebSocket.

mod common;

use std::process::Stdio;

use common::process::banter;
use common::*;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

/// Runs `banter post ROOM ARGS… --user USER --url URL`; returns the `seq` it printed.
async fn post_cli(url: &str, user: &str, args: &[&str]) -> u64 {
    let out = banter()
        .args(["post", "lobby"])
        .args(args)
        .args(["--user", user, "--url", url])
        .output()
        .await
        .expect("run banter post");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "banter post {args:?}: {err}");
    let seq = String::from_utf8_lossy(&out.stdout);
    seq.trim().parse().expect("a seq")
}

fn tail(url: &str) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = banter()
        .args(["tail", "lobby", "--since", "0", "--url", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn banter tail");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

async fn lines(from: &mut Lines<BufReader<ChildStdout>>, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let line = tokio::time::timeout(WAIT, from.next_line())
            .await
            .unwrap_or_else(|_| panic!("tail printed only {got:?}"))
            .expect("read")
            .expect("tail ended");
        got.push(line);
    }
    got
}

#[tokio::test]
async fn post_changes_messages_and_tail_shows_each_change_as_what_it_is() {
    let server = start_server().await;
    let url = format!("http://{}", server.addr);
    let (mut live, mut live_lines) = tail(&url);
    assert_eq!(post_cli(&url, "ada", &["ship it?"]).await, 1);
    // Wait until the live tail has joined (it printed the first message) so what follows is live.
    lines(&mut live_lines, 1).await;
    assert_eq!(
        post_cli(&url, "bob", &["on it", "--reply-to", "1"]).await,
        2
    );
    assert_eq!(
        post_cli(&url, "ada", &["ship it!", "--edit", "1", "--ws"]).await,
        3
    );
    assert_eq!(post_cli(&url, "ada", &["--react", "2", "👍"]).await, 4);
    assert_eq!(
        post_cli(&url, "cy", &["--react", "2", "🎉", "--ws"]).await,
        5
    );
    assert_eq!(post_cli(&url, "cy", &["--unreact", "2", "🎉"]).await, 6);
    assert_eq!(post_cli(&url, "bob", &["--delete", "2", "--ws"]).await, 7);
    let changes = [
        "✎ #1 ada: ship it!",
        "+👍 #2 ada",
        "+🎉 #2 cy",
        "-🎉 #2 cy",
        "✗ #2 deleted by bob",
    ];
    let mut want = vec!["#2 bob (re #1 ada): on it"];
    want.extend(changes);
    assert_eq!(lines(&mut live_lines, 6).await, want);

    // A tail that comes later replays the messages in their current state, then the changes.
    let (mut late, mut late_lines) = tail(&url);
    // The reactions to the deleted message lost their emoji with it.
    let want = [
        "#1 ada: ship it! (edited)",
        "#2 bob (re #1 ada): (deleted)",
        "✎ #1 ada: ship it!",
        "+(erased) #2 ada",
        "+(erased) #2 cy",
        "-(erased) #2 cy",
        "✗ #2 deleted by bob",
    ];
    assert_eq!(lines(&mut late_lines, 7).await, want);

    // Not yours to edit: refused with the server's reason, nothing stored.
    let out = banter()
        .args(["post", "lobby", "mine now", "--edit", "1", "--user", "bob"])
        .args(["--url", &url])
        .output()
        .await
        .expect("run banter post");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden"));
    let _ = (live.kill().await, late.kill().await);
}
