//! `banter post` and `banter tail` as a script runs them: real processes against a real server.

mod common;

use std::process::Stdio;

use common::process::{Proc, Proxy, banter, scratch};
use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

/// The `seq` of the next line `banter tail --json` prints.
async fn next_seq(lines: &mut Lines<BufReader<ChildStdout>>) -> u64 {
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("tail printed nothing in time")
        .expect("read")
        .expect("tail ended");
    let m: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    m["seq"].as_u64().unwrap()
}

async fn post_http(server: &TestServer, room: &str, text: &str) {
    let (status, _) = post(
        server,
        room,
        serde_json::json!({"user": "ada", "text": text}),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn post_over_http_and_over_the_websocket_prints_the_seq() {
    let server = start_server().await;
    let url = format!("http://{}", server.addr);
    for (i, extra) in [&[][..], &["--ws"][..]].iter().enumerate() {
        let out = banter()
            .args([
                "post",
                "lobby",
                &format!("hello {i}"),
                "--user",
                "bot",
                "--url",
                &url,
            ])
            .args(*extra)
            .output()
            .await
            .expect("run banter post");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            (i + 1).to_string()
        );
    }
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages").await;
    let texts: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["hello 0", "hello 1"]);
}

#[tokio::test]
async fn post_to_an_invalid_room_fails_with_the_servers_reason() {
    let server = start_server().await;
    let out = banter()
        .args([
            "post",
            "Not A Room",
            "hi",
            "--url",
            &format!("http://{}", server.addr),
        ])
        .output()
        .await
        .expect("run banter post");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_room"));
}

/// `banter tail` prints exactly 1..N, each once and in order, while every connection it has is
/// cut (twice) under it and messages are posted while it is away.
#[tokio::test]
async fn tail_prints_exactly_1_to_n_across_connection_cuts() {
    let server = start_server().await;
    let proxy = Proxy::start(server.addr).await;
    let mut tail = banter()
        .args(["tail", "lobby", "--json", "--since", "0"])
        .args(["--url", &format!("http://{}", proxy.addr)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn banter tail");
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut next_seq = async |seen: &mut Vec<u64>| seen.push(next_seq(&mut lines).await);

    let mut posted = 0;
    for round in 0..3 {
        for _ in 0..5 {
            posted += 1;
            post_http(&server, "lobby", &format!("m{posted}")).await;
        }
        while seen.len() < posted {
            next_seq(&mut seen).await;
        }
        if round < 2 {
            proxy.cut();
            // Posted while tail is disconnected: it must get these by resuming with `since`.
            for _ in 0..5 {
                posted += 1;
                post_http(&server, "lobby", &format!("m{posted}")).await;
            }
        }
    }
    // One more: if anything were printed twice, this would not be the next line.
    posted += 1;
    post_http(&server, "lobby", "last").await;
    next_seq(&mut seen).await;
    assert_eq!(seen, (1..=posted as u64).collect::<Vec<_>>());
    // It really was cut off twice: it says so on stderr each time.
    let _ = tail.kill().await;
    let mut log = String::new();
    tail.stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .await
        .unwrap();
    assert_eq!(log.matches("reconnecting").count(), 2, "{log}");
}

/// `banter tail` prints exactly 1..N while the server (durable store) is restarted twice under
/// it: once gracefully (SIGTERM: close 1001), once killed (SIGKILL: connections just break).
#[tokio::test]
async fn tail_prints_exactly_1_to_n_while_the_server_restarts_under_it() {
    let data = scratch("tail-restart");
    let data = data.to_str().unwrap().to_owned();
    let mut server = Proc::start(&["--listen", "127.0.0.1:0", "--data-dir", &data]).await;
    let listen = server.addr.to_string();
    let url = format!("http://{listen}");
    let mut tail = banter()
        .args(["tail", "lobby", "--json", "--since", "0", "--url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn banter tail");
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let http = reqwest::Client::new();
    let mut posted = 0u64;
    let mut seen: Vec<u64> = Vec::new();
    for round in 0..3 {
        for _ in 0..5 {
            posted += 1;
            let res = http
                .post(format!("{url}/api/rooms/lobby/messages"))
                .json(&serde_json::json!({"user": "ada", "text": format!("m{posted}")}))
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 201);
        }
        while (seen.len() as u64) < posted {
            seen.push(next_seq(&mut lines).await);
        }
        if round < 2 {
            if round == 0 {
                server.signal("TERM").await;
                server.wait().await;
            } else {
                server.kill9();
            }
            server = Proc::start(&["--listen", &listen, "--data-dir", &data]).await;
        }
    }
    assert_eq!(seen, (1..=posted).collect::<Vec<_>>());
    let _ = tail.kill().await;
}
