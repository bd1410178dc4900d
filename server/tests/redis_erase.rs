//! With Redis, a deletion erases (issue 16, "Deletion erases"), tested over a real
//! `redis-server` (append-only, as docs/deploy.md recommends) and two real nodes: after a
//! message is posted, edited, reacted to and deleted, neither of its texts nor its reaction's
//! emoji is in any key of Redis (every key's `DUMP`), in an RDB snapshot saved afterwards, or
//! in the append-only file once the node's `BGREWRITEAOF` is done; a re-sent `client_id` gets
//! the tombstone's `seq`; and the room's stream, rewritten by the deletion, still gives every
//! `seq` once to posting, replay and resume on either node.

mod common;

use std::path::Path;

use banter_protocol::{ClientMsg, ServerMsg};
use banter_testkit::{Client, Endpoint, Persistence, Redis, get_json, wait_until};
use common::process::node;
use serde_json::Value;

/// Messages before the deleted one: more than one page (1,000) of the stream's rewrite.
const FILL: usize = 1_100;
const STREAM: &str = "banter:r:{lobby}:log";

fn send(text: &str, cid: &str) -> ClientMsg {
    ClientMsg::Send {
        room: "lobby".into(),
        text: text.into(),
        client_id: Some(cid.into()),
        reply_to: None,
        files: Vec::new(),
    }
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The keys of Redis whose serialized value (`DUMP`, uncompressed: the test's Redis runs with
/// `rdbcompression no`) holds `needle`.
fn keys_holding(redis: &Redis, needle: &str) -> Vec<String> {
    let mut c = redis.conn().expect("redis");
    let (mut keys, mut cursor) = (Vec::new(), 0u64);
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(&mut c)
            .expect("SCAN");
        keys.extend(page);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.into_iter()
        .filter(|k| {
            let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(k).query(&mut c).expect("DUMP");
            dump.is_some_and(|d| holds(&d, needle))
        })
        .collect()
}

fn file_holds(path: &Path, needle: &str) -> bool {
    holds(&std::fs::read(path).unwrap_or_default(), needle)
}

/// Whether any file under `dir` (the RDB, the AOF's directory) holds `needle`.
fn files_hold(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).expect("a directory").any(|f| {
        let path = f.expect("an entry").path();
        if path.is_dir() {
            files_hold(&path, needle)
        } else {
            file_holds(&path, needle)
        }
    })
}

/// The stream's entry ids, as `seq`s.
fn stream_seqs(redis: &Redis) -> Vec<u64> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis
        .cmd(redis::cmd("XRANGE").arg(STREAM).arg("-").arg("+"))
        .expect("XRANGE");
    entries
        .iter()
        .map(|(id, _)| id.trim_end_matches("-0").parse().expect("a seq id"))
        .collect()
}

/// Every entry `seq` (messages and changes) of `lobby` over HTTP, paging from the start.
async fn paged_seqs(server: &impl Endpoint) -> (Vec<u64>, Vec<Value>) {
    let (mut seqs, mut messages, mut since) = (Vec::new(), Vec::new(), 0);
    loop {
        let path = format!("/api/rooms/lobby/messages?since={since}&limit=400");
        let (status, page) = get_json(server, &path).await;
        assert_eq!(status, 200, "{page}");
        let mut got: Vec<u64> = Vec::new();
        for m in page["messages"].as_array().expect("messages") {
            got.push(m["seq"].as_u64().expect("a seq"));
            messages.push(m.clone());
        }
        for c in page["changes"].as_array().into_iter().flatten() {
            got.push(c["seq"].as_u64().expect("a seq"));
        }
        let Some(&last) = got.iter().max() else {
            return (seqs, messages);
        };
        seqs.extend(got);
        since = last;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_a_deletion_erases_memory_and_files_and_every_seq_stays_once() {
    deletion_erases(&[], false).await;
}

/// With `stream-node-max-entries 0` (nodes bounded by bytes only) the node gives the script no
/// bound, and a deletion copies the whole stream instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_unbounded_stream_nodes_a_deletion_copies_the_stream_and_erases_too() {
    deletion_erases(&["--stream-node-max-entries", "0"], true).await;
}

/// How many times Redis ran `command` (from `INFO commandstats`).
fn calls(redis: &Redis, command: &str) -> u64 {
    let info: String = redis
        .cmd(redis::cmd("INFO").arg("commandstats"))
        .expect("INFO");
    let field = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&field))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().expect("a count"))
}

/// The scenario; `copies`: whether the deletions copy the whole stream (RENAME) rather than
/// rewrite its end in place.
async fn deletion_erases(extra: &[&str], copies: bool) {
    let mut args = vec!["--rdbcompression", "no"];
    args.extend(extra);
    let redis = Redis::start_args(Persistence::ALWAYS, &args);
    // Two deletions a moment apart: a short rewrite period, so the second is rewritten too.
    let every = ["--redis-aof-rewrite-after-delete", "1s"];
    let (a, b) = (&node(&redis, &every).await, &node(&redis, &every).await);
    let mut ann = Client::connect(a).await;
    ann.join("lobby", "ann").await;
    // An early message, deleted last: the rewrite then spans every entry of the stream.
    let early = "early-secret-3319";
    assert_eq!(ann.ask(send(early, "c-early")).await, Ok(1));
    for chunk in 0..FILL / 100 {
        for i in 0..100 {
            ann.send(&send(
                &format!("filler {chunk}-{i}"),
                &format!("f{chunk}-{i}"),
            ))
            .await;
        }
        for _ in 0..100 {
            ann.recv_until(|m| matches!(m, ServerMsg::Ack { .. })).await;
        }
    }
    let (secret, edited, emoji) = ("zebra-secret-8841", "okapi-secret-1177", "🦓");
    let target = ann.ask(send(secret, "c-secret")).await.expect("sent");
    assert_eq!(target, FILL as u64 + 2);
    let edit = ClientMsg::Edit {
        room: "lobby".into(),
        seq: target,
        text: edited.into(),
        client_id: Some("c-edit".into()),
    };
    ann.ask(edit).await.expect("edited");
    let react = ClientMsg::React {
        room: "lobby".into(),
        seq: target,
        emoji: emoji.into(),
        remove: false,
        client_id: Some("c-react".into()),
    };
    ann.ask(react).await.expect("reacted");
    ann.ask(send("after the secret", "c-after"))
        .await
        .expect("sent");

    // The greps see the bytes while they are there: in memory, in a snapshot, in the AOF.
    for needle in [secret, edited, emoji] {
        assert!(
            !keys_holding(&redis, needle).is_empty(),
            "{needle} in memory"
        );
    }
    redis.save();
    let dir = redis.dir().to_owned();
    assert!(
        file_holds(&dir.join("dump.rdb"), secret),
        "the snapshot has it"
    );
    assert!(
        files_hold(&dir.join("appendonlydir"), edited),
        "the AOF has it"
    );

    let delete = ClientMsg::Delete {
        room: "lobby".into(),
        seq: target,
        client_id: Some("c-delete".into()),
    };
    assert_eq!(ann.ask(delete).await, Ok(target + 4));
    // Acked means erased from every key: the stream, the fold, the dedupe keys.
    for needle in [secret, edited, emoji] {
        assert_eq!(
            keys_holding(&redis, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    // The same client_id sent again gets the tombstone's seq, and stores nothing.
    assert_eq!(ann.ask(send(secret, "c-secret")).await, Ok(target));
    assert!(keys_holding(&redis, secret).is_empty());
    let early_delete = ClientMsg::Delete {
        room: "lobby".into(),
        seq: 1,
        client_id: Some("c-delete-early".into()),
    };
    let head = ann.ask(early_delete).await.expect("deleted");
    assert_eq!(head, target + 5);
    assert!(keys_holding(&redis, early).is_empty());
    // The first message's deletion rewrites more than half the stream: a copy either way.
    let renamed = if copies { 2 } else { 1 };
    assert_eq!(
        calls(&redis, "rename"),
        renamed,
        "how the stream was rewritten"
    );
    // A snapshot saved now holds no trace; the AOF loses it once the node's rewrite is done.
    redis.save();
    for needle in [secret, edited, emoji, early] {
        assert!(
            !file_holds(&dir.join("dump.rdb"), needle),
            "{needle} in the snapshot"
        );
    }
    wait_until("the AOF rewritten without the deleted texts", || {
        [secret, edited, emoji, early]
            .iter()
            .all(|n| !files_hold(&dir, n))
    })
    .await;

    // Every seq once, after the rewrite of the stream: in Redis, posting, paging and resume.
    let want: Vec<u64> = (1..=head).collect();
    assert_eq!(stream_seqs(&redis), want);
    let mut watcher = Client::connect(b).await;
    watcher.join("lobby", "watcher").await;
    let next = ann
        .ask(send("after the erase", "c-next"))
        .await
        .expect("sent");
    assert_eq!(next, head + 1);
    assert_eq!(watcher.next_message().await.seq, next);
    for node in [a, b] {
        let (seqs, messages) = paged_seqs(node).await;
        assert_eq!(seqs.len(), next as usize, "each seq once");
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=next).collect::<Vec<_>>());
        let gone = messages
            .iter()
            .find(|m| m["seq"] == target)
            .expect("the tombstone");
        assert_eq!(
            (gone["deleted"].as_bool(), gone["text"].as_str()),
            (Some(true), Some(""))
        );
    }
    let mut reader = Client::connect(b).await;
    let (_, (_, from, to, complete)) = reader.resume("lobby", target - 1, None).await;
    assert!(complete && (from, to) == (target, next), "{from}..{to}");
    let mut seen = Vec::new();
    while seen.last() != Some(&next) {
        seen.push(match reader.recv().await {
            ServerMsg::Message(m) => m.seq,
            ServerMsg::Change(c) => c.seq,
            _ => continue,
        });
    }
    assert_eq!(seen, (target..=next).collect::<Vec<_>>());
}
