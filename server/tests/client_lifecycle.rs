//! The client library's v1.2 requests across failures, against a real `banter` process: an edit
//! whose `ack` was lost is sent again with its `client_id` and stored once; a reader that was
//! away while a message was edited, reacted to, answered and deleted, and the server was killed
//! with `kill -9` and restarted, resumes and gets each change exactly once, ending with the
//! server's state.

mod common;

use std::time::Duration;

use banter_client::http::Http;
use banter_client::{Backoff, Client, ClientConfig, Event};
use banter_protocol::ChatMessage;
use banter_testkit::{Endpoint, retry};
use common::process::{Proxy, launch};

const ROOM: &str = "away";

fn config(proxy: &Proxy, name: &str, keep: usize) -> ClientConfig {
    let mut cfg = ClientConfig::new(proxy.base(), name);
    cfg.keep = keep;
    cfg.backoff = Backoff {
        base: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    cfg
}

/// The next event that is a message or a change, as `(seq, what)`.
async fn next_entry(c: &mut Client) -> (u64, String) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), c.next_event())
            .await
            .expect("an entry in time")
            .expect("the client runs");
        match event {
            Event::Message(m) => return (m.seq, format!("message {}", m.text)),
            Event::Change { change, .. } => {
                return (
                    change.seq,
                    format!("{} #{}", change.kind.as_str(), change.target),
                );
            }
            _ => {}
        }
    }
}

/// The room's messages as the server serves them now, and its last `seq`.
async fn server_state(http: &Http) -> (Vec<ChatMessage>, u64) {
    let page = http.page(ROOM, 0, 1000).await.expect("a page");
    let head = page.messages.iter().map(|m| m.seq);
    let head = head.chain(page.changes.iter().map(|c| c.seq)).max();
    (page.messages, head.unwrap_or(0))
}

#[tokio::test]
async fn a_lost_ack_and_a_kill_9_lose_or_double_no_change() {
    let mut server = launch().unlimited().start().await.expect("banter started");
    let (to_writer, to_reader) = (
        Proxy::start(server.addr()).await,
        Proxy::start(server.addr()).await,
    );
    let http = Http::new(&ClientConfig::new(
        format!("http://{}", server.addr()),
        "checker",
    ))
    .expect("http");
    let writer = Client::start(config(&to_writer, "ada", 0)).expect("writer");
    writer.join(ROOM, None).expect("join");
    let mut reader = Client::start(config(&to_reader, "grace", 1000)).expect("reader");
    reader.join(ROOM, Some(0)).expect("join");
    assert_eq!(writer.send(ROOM, "helo").await.unwrap(), 1);
    assert_eq!(writer.send(ROOM, "ship it?").await.unwrap(), 2);
    assert_eq!(next_entry(&mut reader).await.0, 1);
    assert_eq!(next_entry(&mut reader).await.0, 2);

    // The reader goes away.
    to_reader.refuse();
    to_reader.cut();
    // The edit is stored but its ack is lost: the client sends it again after reconnecting, with
    // the same client_id, and is acked with the same seq.
    to_writer.mute_answers();
    let (edited, ()) = tokio::join!(writer.edit(ROOM, 1, "hello"), async {
        let http = &http;
        retry("the edit is stored", || async move {
            let (msgs, _) = server_state(http).await;
            (msgs[0].text == "hello").then_some(())
        })
        .await;
        to_writer.cut();
        to_writer.restore();
    });
    assert_eq!(edited.unwrap(), 3);
    assert_eq!(writer.react(ROOM, 2, "👍", false).await.unwrap(), 4);
    assert_eq!(
        writer.react(ROOM, 2, "👍", false).await.unwrap(),
        0,
        "given twice"
    );
    assert_eq!(writer.reply(ROOM, 1, "on it").await.unwrap(), 5);
    assert_eq!(writer.delete(ROOM, 2).await.unwrap(), 6);
    assert_eq!(
        server_state(&http).await.1,
        6,
        "the lost ack stored nothing twice"
    );

    // The server dies without a word and comes back; the reader returns.
    server.restart().await.expect("restarted");
    to_reader.set_upstream(server.addr());
    to_writer.set_upstream(server.addr());
    to_reader.restore();
    let mut got = Vec::new();
    for _ in 3..=6 {
        got.push(next_entry(&mut reader).await);
    }
    let want = [
        (3, "edit #1"),
        (4, "react #2"),
        (5, "message on it"),
        (6, "delete #2"),
    ];
    let want: Vec<(u64, String)> = want.iter().map(|(s, w)| (*s, w.to_string())).collect();
    assert_eq!(got, want, "each change once, in order");
    let held = reader.messages(ROOM).await.unwrap();
    let (messages, head) = server_state(&http).await;
    assert_eq!(held, messages, "the reader ends with the server's state");
    assert_eq!(head, 6);
    let (root, gone) = (&held[0], &held[1]);
    assert_eq!((root.text.as_str(), root.replies), ("hello", Some(1)));
    let thread = http.thread(ROOM, 1).await.expect("the thread");
    assert_eq!(&thread.root, root);
    assert_eq!(thread.replies, [held[2].clone()]);
    assert!(gone.deleted && gone.text.is_empty() && gone.reactions.is_empty());
}
