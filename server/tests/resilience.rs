//! No message lost: resume under chaos, idempotent sends, slow consumers, dead peers.
//!
//! Every test here runs over real loopback sockets, bounded in count and time.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use banter_protocol::{ClientMsg, ServerMsg};
use common::*;
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// A tiny deterministic PRNG (xorshift), so a failing run can be replayed from its seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const ROOM: &str = "chaos";

/// A reader that is cut at random and resumes with `since` each time. Returns every seq it saw,
/// in the order it saw them, and how many times it was cut.
async fn chaotic_reader(server_url: String, id: usize, total: u64, seed: u64) -> (Vec<u64>, u32) {
    let mut rng = Rng(seed);
    let mut seen = Vec::with_capacity(total as usize);
    let mut cuts = 0;
    let mut last = 0u64;
    while last < total {
        let mut c = Client::connect_raw(&server_url).await;
        c.recv().await; // welcome
        c.send(&ClientMsg::Join {
            room: ROOM.into(),
            name: format!("reader-{id}"),
            since: Some(last),
            epoch: None,
            with: None,
        })
        .await;
        // Read a random number of messages, then drop the socket without a close frame.
        let budget = 20 + rng.below(400);
        let mut read = 0;
        while read < budget && last < total {
            if let ServerMsg::Message(m) = c.recv().await {
                assert_eq!(
                    m.seq,
                    last + 1,
                    "reader {id}: after {last} came {} (gap or duplicate)",
                    m.seq
                );
                last = m.seq;
                seen.push(m.seq);
                read += 1;
            }
        }
        if last < total {
            cuts += 1;
            drop(c);
            if rng.below(3) == 0 {
                tokio::time::sleep(Duration::from_millis(rng.below(30))).await;
            }
        }
    }
    (seen, cuts)
}

/// A WebSocket sender that is cut at random too, and re-sends whatever was not acked with the
/// same `client_id`.
async fn chaotic_sender(server_url: String, id: usize, count: usize, seed: u64) -> u32 {
    let mut rng = Rng(seed);
    let mut acked: HashSet<String> = HashSet::new();
    let mut cuts = 0;
    let ids: Vec<String> = (0..count).map(|i| format!("s{id}-{i}")).collect();
    while acked.len() < count {
        let mut c = Client::connect_raw(&server_url).await;
        c.recv().await;
        c.join(ROOM, &format!("sender-{id}")).await;
        let pending: Vec<&String> = ids.iter().filter(|i| !acked.contains(*i)).collect();
        for chunk in pending.chunks(25) {
            for cid in chunk {
                c.say(ROOM, &format!("from {cid}"), Some(cid)).await;
            }
            if rng.below(8) == 0 {
                break; // cut with this chunk in flight: it must be re-sent and stored once
            }
            let mut waiting = chunk.len();
            while waiting > 0 {
                if let ServerMsg::Ack { client_id, .. } = c.recv().await
                    && acked.insert(client_id)
                {
                    waiting -= 1;
                }
            }
        }
        if acked.len() < count {
            cuts += 1;
        }
    }
    cuts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_reader_sees_every_seq_exactly_once() {
    let server = start_server_with(|c| c.history = 10_000).await;
    let url = server.ws_url();
    const WS_SENDERS: usize = 4;
    const PER_WS_SENDER: usize = 1000;
    const HTTP_POSTS: usize = 1000;
    const READERS: usize = 20;
    let total = (WS_SENDERS * PER_WS_SENDER + HTTP_POSTS) as u64;
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15u64);
    eprintln!("chaos seed {seed} (set CHAOS_SEED to replay)");

    let run = async {
        let readers: Vec<_> = (0..READERS)
            .map(|i| {
                tokio::spawn(chaotic_reader(
                    url.clone(),
                    i,
                    total,
                    seed.wrapping_add(i as u64 * 7919),
                ))
            })
            .collect();
        let senders: Vec<_> = (0..WS_SENDERS)
            .map(|i| {
                tokio::spawn(chaotic_sender(
                    url.clone(),
                    i,
                    PER_WS_SENDER,
                    seed.wrapping_mul(i as u64 + 3),
                ))
            })
            .collect();
        let http = reqwest::Client::new();
        for i in 0..HTTP_POSTS {
            let body = json!({"user": "http-bot", "text": format!("http {i}"), "client_id": format!("h{i}")});
            let res = http
                .post(server.http(&format!("/api/rooms/{ROOM}/messages")))
                .json(&body)
                .send()
                .await
                .expect("post");
            assert_eq!(res.status(), 201);
        }
        let mut sender_cuts = 0;
        for s in senders {
            sender_cuts += s.await.expect("sender");
        }
        let mut reader_cuts = 0;
        for r in readers {
            let (seen, cuts) = r.await.expect("reader");
            assert_eq!(seen, (1..=total).collect::<Vec<_>>());
            reader_cuts += cuts;
        }
        (sender_cuts, reader_cuts)
    };
    let (sender_cuts, reader_cuts) = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("chaos run took too long");
    eprintln!("chaos: {total} messages, {reader_cuts} reader cuts, {sender_cuts} sender cuts");
    assert!(
        reader_cuts >= READERS as u32 * 5,
        "readers were cut many times"
    );

    // Stored exactly once each, in one order that GET agrees with.
    let mut texts = HashSet::new();
    let mut since = 0;
    loop {
        let (_, page) = get_json(
            &server,
            &format!("/api/rooms/{ROOM}/messages?since={since}&limit=1000"),
        )
        .await;
        let msgs = page["messages"].as_array().unwrap().clone();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            let seq = m["seq"].as_u64().unwrap();
            assert_eq!(seq, since + 1);
            since = seq;
            assert!(
                texts.insert(m["text"].as_str().unwrap().to_owned()),
                "stored twice: {m}"
            );
        }
    }
    assert_eq!(since, total, "no re-sent message was stored twice");
}

#[tokio::test]
async fn a_repeated_client_id_is_stored_once_and_acked_again() {
    let server = start_server().await;
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    let mut bob = Client::connect(&server).await;
    bob.join("lobby", "bob").await;

    for _ in 0..3 {
        ada.say("lobby", "only once", Some("same-id")).await;
    }
    let mut acks = Vec::new();
    let mut messages = 0;
    while acks.len() < 3 {
        match ada.recv().await {
            ServerMsg::Ack { seq, client_id, .. } => {
                assert_eq!(client_id, "same-id");
                acks.push(seq);
            }
            ServerMsg::Message(_) => messages += 1,
            _ => {}
        }
    }
    assert_eq!((acks, messages), (vec![1, 1, 1], 1));
    // A fresh connection of the same user re-sending after a reconnect: still once.
    drop(ada);
    let mut ada2 = Client::connect(&server).await;
    ada2.join("lobby", "ada").await;
    ada2.say("lobby", "only once", Some("same-id")).await;
    let ack = ada2
        .recv_until(|m| matches!(m, ServerMsg::Ack { .. }))
        .await;
    assert!(matches!(ack, ServerMsg::Ack { seq: 1, .. }));
    ada2.say("lobby", "next", None).await;
    // Bob sees seq 1 once, then seq 2: nothing in between.
    let m = bob.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
    assert_eq!(message(&m).map(|m| m.seq), Some(1));
    let m = bob.recv_until(|m| matches!(m, ServerMsg::Message(_))).await;
    assert_eq!(
        message(&m).map(|m| (m.seq, m.text.as_str())),
        Some((2, "next"))
    );

    // Over HTTP: 201 then 200 with the original.
    let body = json!({"user": "bot", "text": "deploy", "client_id": "deploy-7"});
    let (s1, m1) = post(&server, "lobby", body.clone()).await;
    let (s2, m2) = post(&server, "lobby", body).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(m1, m2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_cut_with_4000_while_others_get_everything_then_it_resumes() {
    let server = start_server_with(|c| {
        c.client_queue = 32;
        c.history = 10_000;
        c.shutdown_grace = Duration::from_secs(60);
    })
    .await;
    let mut stalled = Client::connect(&server).await;
    stalled.join("lobby", "stalled").await;
    let mut healthy = Vec::new();
    for i in 0..2 {
        let mut c = Client::connect(&server).await;
        c.join("lobby", &format!("healthy-{i}")).await;
        healthy.push(c);
    }
    // Enough bytes to fill the kernel's socket buffers on both ends, then the queue.
    const COUNT: u64 = 3000;
    let text = "x".repeat(3900);
    let readers: Vec<_> = healthy
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut last = 0;
                while last < COUNT {
                    if let ServerMsg::Message(m) = c.recv().await {
                        assert_eq!(m.seq, last + 1);
                        last = m.seq;
                    }
                }
                last
            })
        })
        .collect();
    let http = reqwest::Client::new();
    for i in 0..COUNT {
        let res = http
            .post(server.http("/api/rooms/lobby/messages"))
            .json(&json!({"user": "flood", "text": format!("{i} {text}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    for r in readers {
        assert_eq!(r.await.unwrap(), COUNT, "healthy readers got everything");
    }

    // Now the stalled reader wakes up: it finds a contiguous prefix, then close 4000.
    let mut last = 0;
    let code = loop {
        let frame = tokio::time::timeout(WAIT, stalled.ws.next())
            .await
            .expect("timed out")
            .expect("ended")
            .expect("error");
        match frame {
            Message::Text(t) => {
                if let Ok(ServerMsg::Message(m)) = serde_json::from_str::<ServerMsg>(&t) {
                    assert_eq!(m.seq, last + 1);
                    last = m.seq;
                }
            }
            Message::Close(Some(f)) => break u16::from(f.code),
            _ => {}
        }
    };
    assert_eq!(code, 4000);
    assert!(last < COUNT, "it was cut before the end");

    let mut again = Client::connect(&server).await;
    again
        .send(&ClientMsg::Join {
            room: "lobby".into(),
            name: "stalled".into(),
            since: Some(last),
            epoch: None,
            with: None,
        })
        .await;
    again.recv().await; // joined
    match again.recv().await {
        ServerMsg::Replay {
            from, to, complete, ..
        } => assert_eq!((from, to, complete), (last + 1, COUNT, true)),
        other => panic!("expected replay, got {other:?}"),
    }
    for seq in last + 1..=COUNT {
        assert_eq!(message(&again.recv().await).map(|m| m.seq), Some(seq));
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_closed_by_the_idle_timeout_and_its_presence_freed() {
    let server = start_server_with(|c| {
        c.ping_interval = Duration::from_secs(5);
        c.idle_timeout = Duration::from_secs(12);
    })
    .await;
    let mut watcher = Client::connect(&server).await;
    watcher.join("lobby", "watcher").await;
    let mut ghost = Client::connect(&server).await;
    ghost.join("lobby", "ghost").await;
    watcher.recv().await; // ghost joined

    // The ghost reads nothing from here on, so it answers no ping. The watcher keeps reading
    // (and so answering pings) while virtual time runs.
    let started = tokio::time::Instant::now();
    let left = watcher
        .recv_until(|m| {
            matches!(
                m,
                ServerMsg::Presence {
                    state: banter_protocol::PresenceState::Left,
                    ..
                }
            )
        })
        .await;
    let waited = started.elapsed();
    assert!(matches!(left, ServerMsg::Presence { user, .. } if user == "ghost"));
    assert!(
        waited >= Duration::from_secs(12) && waited <= Duration::from_secs(20),
        "gone within the bound, not before: {waited:?}"
    );
    // The server sent close 4000 and hung up. The ghost, waking, may first trip over writing its
    // overdue pongs to the closed socket; either way its connection is over.
    let ended = loop {
        match tokio::time::timeout(WAIT, ghost.ws.next())
            .await
            .expect("still open")
        {
            Some(Ok(Message::Close(Some(f)))) => break Some(u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break None,
        }
    };
    assert!(matches!(ended, Some(4000) | None), "closed, got {ended:?}");

    // The watcher, which answered its pings, is still connected.
    watcher.say("lobby", "still here", None).await;
    let _ = watcher
        .recv_until(|m| matches!(m, ServerMsg::Message(_)))
        .await;
    let (_, rooms) = get_json(&server, "/api/rooms").await;
    assert_eq!(rooms["rooms"][0]["users"], 1);
}
