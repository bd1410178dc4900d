//! Issue 16's chaos run: while senders post, reply, edit, delete, react and take reactions back,
//! readers (the `banter-client` library, folding with `banter-client-core`) are cut at random
//! (each behind its own cuttable proxy) and resume. At the end every reader holds exactly the
//! server's state (its folded messages equal to the pages read at the end) and took every `seq`
//! of the room once, messages and changes alike: once as events, and once on the wire (the
//! library counts the frames it drops as repeats; none may be).
//!
//! Once on one node (the durable store), once on two nodes sharing the room through Redis.
//! `LIFECYCLE_CHAOS_RUNS` runs each (default 1); a failing seed is printed and can be run again
//! with `CHAOS_SEED`.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use banter_client::http::Http;
use banter_client::{Backoff, Client, ClientConfig, Event};
use banter_protocol::{ChatMessage, ClientMsg, ErrorCode, ServerMsg};
use banter_testkit::{Banter, Client as Raw, Endpoint, Persistence, Redis, Rng, seeds};
use common::process::{Proxy, launch, node};
use tokio::sync::watch;

const ROOM: &str = "chaos";
const SENDERS: [&str; 3] = ["ada", "bob", "cy"];
const READERS: usize = 3;
const OPS_PER_SENDER: usize = 80;
const EMOJIS: [&str; 3] = ["👍", "🎉", "❤️"];

/// What the senders know of the room: every message (`seq`, author) and which are deleted.
#[derive(Default)]
struct Model {
    messages: Vec<(u64, String)>,
    deleted: HashSet<u64>,
}

type Shared = Arc<Mutex<Model>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_cut_at_random_end_with_the_servers_state_and_every_seq_once() {
    for seed in seeds("lifecycle chaos", "LIFECYCLE_CHAOS_RUNS", 1, 16_016) {
        let log = std::env::temp_dir().join(format!("banter-lifecycle-chaos-{seed}.log"));
        let server = launch().unlimited().log_to(&log).start().await;
        run(seed, &[server.expect("banter started")]).await;
    }
}

/// The same across two nodes sharing the room through Redis: senders and readers on either
/// node, one order for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_nodes_sharing_redis_every_reader_ends_with_the_same_state() {
    for seed in seeds(
        "lifecycle chaos, 2 nodes",
        "LIFECYCLE_CHAOS_RUNS",
        1,
        61_061,
    ) {
        let redis = Redis::start(Persistence::Off);
        let nodes = [node(&redis, &[]).await, node(&redis, &[]).await];
        run(seed, &nodes).await;
    }
}

/// Senders and readers spread over `nodes` (reader `i` through its own proxy to node `i`).
async fn run(seed: u64, nodes: &[Banter]) {
    let on = |i: usize| &nodes[i % nodes.len()];
    let mut proxies = Vec::new();
    for i in 0..READERS {
        proxies.push(Proxy::start(on(i).addr()).await);
    }
    let (head_tx, head_rx) = watch::channel(None::<u64>);
    let readers: Vec<_> = (0..READERS)
        .map(|i| tokio::spawn(reader(proxies[i].base(), i, head_rx.clone())))
        .collect();
    let proxies = Arc::new(proxies);
    let model = Shared::default();
    let senders: Vec<_> = SENDERS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (url, model, proxies) = (on(i + 1).ws_url(), model.clone(), proxies.clone());
            let seed = seed.wrapping_add(i as u64 * 1_000_003);
            tokio::spawn(sender(url, name, seed, model, proxies))
        })
        .collect();
    let mut unavailable = 0;
    for s in senders {
        unavailable += s.await.expect("a sender failed");
    }
    let pages = server_state(on(0)).await;
    let head = pages.1;
    head_tx.send(Some(head)).expect("readers listening");
    for (i, r) in readers.into_iter().enumerate() {
        let (seqs, held, cuts) = tokio::time::timeout(Duration::from_secs(60), r)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: reader {i} did not catch up to {head}"))
            .expect("a reader failed");
        let want: Vec<u64> = (1..=head).collect();
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted, want,
            "seed {seed}: reader {i} did not take every seq once"
        );
        assert_eq!(
            held.len(),
            pages.0.len(),
            "seed {seed}: reader {i}'s messages"
        );
        for (mine, theirs) in held.iter().zip(&pages.0) {
            assert_eq!(
                mine, theirs,
                "seed {seed}: reader {i} differs at #{}",
                theirs.seq
            );
        }
        eprintln!("reader {i}: {head} entries, cut {cuts} times");
    }
    let m = model.lock().unwrap();
    eprintln!(
        "seed {seed}: {} messages ({} deleted), {head} entries; {unavailable} requests refused \
         as unavailable and sent again",
        m.messages.len(),
        m.deleted.len()
    );
    assert!(!m.deleted.is_empty() && m.messages.len() as u64 > head / 4);
}

/// One sender: `OPS_PER_SENDER` random requests over its own connection, each waited for (an
/// `ack`, or `not_found` for a message another sender deleted meanwhile; `unavailable` is sent
/// again with the same `client_id`, as the contract says); now and then it cuts a random
/// reader's connection. Returns how many times the server said `unavailable`.
async fn sender(
    url: String,
    name: &str,
    seed: u64,
    model: Shared,
    proxies: Arc<Vec<Proxy>>,
) -> usize {
    let mut rng = Rng(seed);
    let mut c = Raw::connect_raw(&url).await;
    c.recv().await; // welcome
    c.join(ROOM, name).await;
    let mut given: Vec<(u64, &'static str)> = Vec::new();
    let mut unavailable = 0;
    for k in 0..OPS_PER_SENDER {
        let client_id = format!("{name}-{k}");
        let (frame, op) = pick(&mut rng, name, &model, &mut given, client_id.clone());
        let answer = loop {
            c.send(&frame).await;
            match answer(&mut c, &client_id).await {
                ServerMsg::Error {
                    code: ErrorCode::Unavailable,
                    ..
                } if unavailable < 100 => {
                    unavailable += 1;
                    // A retry's delay, as a client's backoff: not a wait for a condition.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => break other,
            }
        };
        match (answer, op) {
            (ServerMsg::Ack { seq, .. }, Op::Message) => {
                model.lock().unwrap().messages.push((seq, name.to_owned()))
            }
            (ServerMsg::Ack { .. }, Op::Delete(target)) => {
                model.lock().unwrap().deleted.insert(target);
            }
            (ServerMsg::Ack { .. }, _) => {}
            (
                ServerMsg::Error {
                    code: ErrorCode::NotFound,
                    ..
                },
                _,
            ) => {}
            (other, _) => panic!("{name}: {frame:?} got {other:?}"),
        }
        if rng.below(10) == 0 {
            proxies[rng.below(proxies.len() as u64) as usize].cut();
        }
    }
    unavailable
}

/// The `ack` or `error` that answers `client_id`.
async fn answer(c: &mut Raw, client_id: &str) -> ServerMsg {
    c.recv_until(|m| match m {
        ServerMsg::Ack { client_id: id, .. } => id == client_id,
        ServerMsg::Error { client_id: id, .. } => id.as_deref() == Some(client_id),
        _ => false,
    })
    .await
}

/// What a request does to the senders' model.
enum Op {
    Message,
    Delete(u64),
    Other,
}

/// A random request: a message (a reply a third of the time), an edit or a deletion of one of
/// `name`'s own messages, or a reaction given (or, half the time, one of `given` taken back).
fn pick(
    rng: &mut Rng,
    name: &str,
    model: &Shared,
    given: &mut Vec<(u64, &'static str)>,
    client_id: String,
) -> (ClientMsg, Op) {
    let (live, mine) = {
        let m = model.lock().unwrap();
        let live: Vec<&(u64, String)> = m
            .messages
            .iter()
            .filter(|(s, _)| !m.deleted.contains(s))
            .collect();
        let mine = live.iter().filter(|(_, by)| by == name).map(|(s, _)| *s);
        let mine: Vec<u64> = mine.collect();
        (live.iter().map(|(s, _)| *s).collect::<Vec<u64>>(), mine)
    };
    let (room, client_id) = (ROOM.to_owned(), Some(client_id));
    let any = |rng: &mut Rng, from: &[u64]| from[rng.below(from.len() as u64) as usize];
    let roll = if mine.is_empty() { 0 } else { rng.below(20) };
    match roll {
        0..=6 => {
            let reply_to = (rng.below(3) == 0 && !live.is_empty()).then(|| any(rng, &live));
            let text = format!("{name} says {}", rng.below(1_000_000));
            let send = ClientMsg::Send {
                room,
                text,
                client_id,
                reply_to,
                files: Vec::new(),
            };
            (send, Op::Message)
        }
        7..=10 => {
            let seq = any(rng, &mine);
            let text = format!("{name} edited {}", rng.below(1_000_000));
            let edit = ClientMsg::Edit {
                room,
                seq,
                text,
                client_id,
            };
            (edit, Op::Other)
        }
        11..=12 => {
            let seq = any(rng, &mine);
            let delete = ClientMsg::Delete {
                room,
                seq,
                client_id,
            };
            (delete, Op::Delete(seq))
        }
        _ => {
            let remove = !given.is_empty() && rng.below(2) == 0;
            let (seq, emoji) = if remove {
                given.swap_remove(rng.below(given.len() as u64) as usize)
            } else {
                let pair = (any(rng, &live), EMOJIS[rng.below(3) as usize]);
                given.push(pair);
                pair
            };
            let emoji = emoji.to_owned();
            let react = ClientMsg::React {
                room,
                seq,
                emoji,
                remove,
                client_id,
            };
            (react, Op::Other)
        }
    }
}

/// One reader through `base` (its proxy): follows the room from its start with the client
/// library, keeping its messages folded, until it took every entry up to the head the test
/// announces. Returns the `seq`s it was given (messages and changes), its folded messages and
/// how many times it was cut.
async fn reader(
    base: String,
    i: usize,
    mut head: watch::Receiver<Option<u64>>,
) -> (Vec<u64>, Vec<ChatMessage>, usize) {
    let mut cfg = ClientConfig::new(base, format!("reader-{i}"));
    cfg.keep = 100_000;
    cfg.backoff = Backoff {
        base: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    let mut client = Client::start(cfg).expect("a client");
    client.join(ROOM, Some(0)).expect("join");
    let (mut seqs, mut cuts) = (Vec::new(), 0);
    loop {
        if head.borrow().is_some_and(|h| seqs.len() as u64 >= h) {
            break;
        }
        tokio::select! {
            event = client.next_event() => match event.expect("the client stopped") {
                Event::Message(m) => seqs.push(m.seq),
                Event::Change { change, .. } => seqs.push(change.seq),
                Event::Disconnected { .. } => cuts += 1,
                Event::Gap { room } => panic!("reader {i}: a gap in {room}"),
                _ => {}
            },
            _ = head.changed() => {}
        }
    }
    let held = client.messages(ROOM).await.expect("the folded messages");
    // The events above come after the library's dedupe: the frames themselves held no repeat.
    let repeats = client.repeats(ROOM).await.expect("the repeats");
    assert_eq!(repeats, 0, "reader {i}: frames the server sent twice");
    (seqs, held, cuts)
}

/// The room as the server serves it at the end: every message in its current state (pages read
/// forward) and the room's last `seq`.
async fn server_state(server: &impl Endpoint) -> (Vec<ChatMessage>, u64) {
    let http = Http::new(&ClientConfig::new(
        format!("http://{}", server.addr()),
        "checker",
    ))
    .expect("an HTTP client");
    let (mut messages, mut since) = (Vec::new(), 0);
    let mut seen = BTreeSet::new();
    loop {
        let page = http.page(ROOM, since, 100).await.expect("a page");
        let end = page.messages.iter().map(|m| m.seq);
        let end = end.chain(page.changes.iter().map(|c| c.seq)).max();
        let Some(end) = end else { break };
        seen.extend(page.changes.iter().map(|c| c.seq));
        seen.extend(page.messages.iter().map(|m| m.seq));
        messages.extend(page.messages);
        since = end;
    }
    let head = seen.last().copied().unwrap_or(0);
    assert_eq!(seen.len() as u64, head, "the pages hold every seq once");
    (messages, head)
}
