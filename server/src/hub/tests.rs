//! The hub's rules over the in-memory store (the SQLite store has its own tests in
//! `server/tests/durable.rs`, over real files and processes).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use banter_protocol::ServerMsg;

use super::replay::BacklogStep;
use super::*;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::store::memory::dedupe::DedupeLimits;

fn hub(tune: impl FnOnce(&mut HubConfig)) -> Hub {
    let mut cfg = HubConfig::default();
    tune(&mut cfg);
    let store = MemoryStore::new(
        cfg.history,
        cfg.max_rooms,
        DedupeLimits {
            window: Duration::from_secs(60),
            capacity: 1000,
        },
    );
    Hub::new(cfg, Store::new(Arc::new(store), None))
}

/// Posts and returns what the store answered (the memory store answers at once).
async fn post(hub: &Hub, room: &str, user: &str, text: &str, cid: Option<&str>) -> Appended {
    let (tx, rx) = tokio::sync::oneshot::channel();
    hub.post(room, user, text, cid, None, move |r| {
        let _ = tx.send(r);
    })
    .await
    .unwrap();
    rx.await.unwrap().unwrap()
}

/// What `peer`'s writer would write: its queue, with each backlog read to its end (from the
/// window, else the store).
fn drain(hub: &Hub, peer: &Peer) -> Vec<String> {
    let mut out = Vec::new();
    let mut taken = VecDeque::new();
    peer.outbox().take(&mut taken);
    for o in taken {
        match o {
            Outbound::Frame(f) => out.push(f.to_string()),
            Outbound::Batch(fs) => out.extend(fs.iter().map(|f| f.to_string())),
            Outbound::Backlog(mut b) => loop {
                let fs = match hub.backlog_window(peer.id(), &mut b) {
                    BacklogStep::Frames(fs) => fs,
                    BacklogStep::Store => hub.backlog_store(&mut b).expect("no gap"),
                    BacklogStep::Done => break,
                };
                out.extend(fs.iter().map(|f| f.to_string()));
            },
        }
    }
    out
}

fn parsed(frames: &[String]) -> Vec<ServerMsg> {
    frames
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect()
}

fn seqs(frames: &[String]) -> Vec<u64> {
    parsed(frames)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Message(m) => Some(m.seq),
            _ => None,
        })
        .collect()
}

fn replay_of(frames: &[String]) -> (u64, u64, bool) {
    parsed(frames)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Replay {
                from, to, complete, ..
            } => Some((from, to, complete)),
            _ => None,
        })
        .expect("a replay bracket")
}

#[tokio::test]
async fn seq_is_gap_free_per_room() {
    let hub = hub(|_| {});
    for i in 1..=5 {
        assert_eq!(
            post(&hub, "a", "ada", &format!("m{i}"), None)
                .await
                .stored
                .seq(),
            i
        );
    }
    assert_eq!(
        post(&hub, "b", "ada", "other room", None)
            .await
            .stored
            .seq(),
        1
    );
    let page = hub.history("a", Range::After(3), 1).await.unwrap();
    assert_eq!(page.messages[0].seq, 4);
    assert!(page.complete);
}

#[tokio::test]
async fn every_member_gets_the_same_shared_frame_in_order() {
    let hub = hub(|_| {});
    let a = hub.new_peer();
    let b = hub.new_peer();
    hub.join(&a, "lobby", &"ada".into(), None, None, None)
        .unwrap();
    hub.join(&b, "lobby", &"bob".into(), None, None, None)
        .unwrap();
    drain(&hub, &a);
    drain(&hub, &b);
    for i in 0..10 {
        post(&hub, "lobby", "ada", &format!("m{i}"), None).await;
    }
    let (fa, fb) = (drain(&hub, &a), drain(&hub, &b));
    assert_eq!(seqs(&fa), (1..=10).collect::<Vec<_>>());
    assert_eq!(fa, fb);
}

#[tokio::test]
async fn a_full_queue_kicks_only_that_member() {
    let hub = hub(|c| c.client_queue = 4);
    let slow = hub.new_peer();
    let fast = hub.new_peer();
    hub.join(&slow, "lobby", &"slow".into(), None, None, None)
        .unwrap();
    hub.join(&fast, "lobby", &"fast".into(), None, None, None)
        .unwrap();
    let mut got = Vec::new();
    for i in 0..20 {
        post(&hub, "lobby", "x", &format!("m{i}"), None).await;
        got.extend(seqs(&drain(&hub, &fast)));
    }
    assert!(slow.outbox().is_kicked());
    assert!(!fast.outbox().is_kicked());
    assert_eq!(got, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_repeated_client_id_is_stored_once() {
    let hub = hub(|_| {});
    let first = post(&hub, "lobby", "ada", "hi", Some("c1")).await;
    let again = post(&hub, "lobby", "ada", "hi", Some("c1")).await;
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(again.stored.seq(), first.stored.seq());
    // Another user may use the same client_id.
    assert!(!post(&hub, "lobby", "bob", "hi", Some("c1")).await.duplicate);
    assert_eq!(
        hub.history("lobby", Range::After(0), 10)
            .await
            .unwrap()
            .messages
            .len(),
        2
    );
}

#[tokio::test]
async fn presence_counts_a_name_once_across_connections() {
    let hub = hub(|_| {});
    let watcher = hub.new_peer();
    hub.join(&watcher, "lobby", &"w".into(), None, None, None)
        .unwrap();
    let tab1 = hub.new_peer();
    let tab2 = hub.new_peer();
    hub.join(&tab1, "lobby", &"ada".into(), None, None, None)
        .unwrap();
    hub.join(&tab2, "lobby", &"ada".into(), None, None, None)
        .unwrap();
    assert_eq!(hub.rooms(10, None).await.unwrap().rooms[0].users, 2);
    // Presence goes out on the next tick (here: by hand).
    hub.flush_presence();
    hub.leave(tab1.id(), "lobby");
    hub.leave(tab2.id(), "lobby");
    hub.flush_presence();
    let states: Vec<PresenceState> = parsed(&drain(&hub, &watcher))
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Presence { state, .. } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(states, [PresenceState::Joined, PresenceState::Left]);
}

#[tokio::test]
async fn classic_members_get_the_classic_shape() {
    let hub = hub(|_| {});
    let c = hub.new_peer();
    hub.join_classic(&c, "lobby").await.unwrap();
    post(&hub, "lobby", "ada", "hi", None).await;
    assert_eq!(drain(&hub, &c), [r#"{"user":"ada","message":"hi"}"#]);
}

#[tokio::test]
async fn a_room_is_unloaded_when_its_last_member_leaves() {
    let hub = hub(|_| {});
    let p = hub.new_peer();
    hub.join(&p, "lobby", &"ada".into(), None, None, None)
        .unwrap();
    post(&hub, "lobby", "ada", "hi", None).await;
    assert_eq!(hub.rooms_loaded(), 1);
    assert!(hub.window_bytes() > 0);
    hub.leave(p.id(), "lobby");
    assert_eq!(hub.rooms_loaded(), 0);
    assert_eq!(hub.window_bytes(), 0, "the window's bytes are given back");
    // Posting to a room nobody is in loads nothing.
    post(&hub, "lobby", "ada", "again", None).await;
    assert_eq!(hub.rooms_loaded(), 0);
}

#[tokio::test]
async fn the_byte_budget_bounds_every_window_and_replay_reads_below_it() {
    let hub = hub(|c| {
        c.window_budget = 4096;
        c.replay_chunk = 16;
    });
    let p = hub.new_peer();
    hub.join(&p, "big", &"ada".into(), None, None, None)
        .unwrap();
    for i in 1..=200 {
        post(
            &hub,
            "big",
            "ada",
            &format!("message number {i} {}", "x".repeat(100)),
            None,
        )
        .await;
    }
    assert!(hub.window_bytes() <= 4096 + 1024, "{}", hub.window_bytes());
    // A resume from far below the window is still exact: the rest comes from the store.
    let q = hub.new_peer();
    hub.join(&q, "big", &"bob".into(), Some(10), None, None)
        .unwrap();
    let frames = drain(&hub, &q);
    assert_eq!(replay_of(&frames), (11, 200, true));
    assert_eq!(seqs(&frames), (11..=200).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_replay_is_queued_a_chunk_at_a_time_and_a_second_join_replays_nothing() {
    let hub = hub(|c| c.replay_chunk = 8);
    for i in 1..=100 {
        post(&hub, "lobby", "ada", &format!("m{i}"), None).await;
    }
    let p = hub.new_peer();
    hub.join(&p, "lobby", &"bob".into(), Some(0), None, None)
        .unwrap();
    let mut queued = VecDeque::new();
    p.outbox().take(&mut queued);
    let frames: usize = queued
        .iter()
        .map(|o| match o {
            Outbound::Frame(_) => 1,
            Outbound::Batch(fs) => fs.len(),
            Outbound::Backlog(_) => 0,
        })
        .sum();
    assert_eq!(frames, 2 + 8, "joined, the bracket and one chunk");
    assert!(matches!(queued.back(), Some(Outbound::Backlog(b)) if b.next == 9 && b.last == 100));
    // Joining again, even with `since`, answers `joined` alone.
    hub.join(&p, "lobby", &"bob".into(), Some(0), None, None)
        .unwrap();
    let again = parsed(&drain(&hub, &p));
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(matches!(again[0], ServerMsg::Joined { head: 100, .. }));
}

#[tokio::test]
async fn another_epoch_replays_from_the_oldest_held_and_says_incomplete() {
    let hub = hub(|_| {});
    for i in 1..=3 {
        post(&hub, "lobby", "ada", &format!("m{i}"), None).await;
    }
    let p = hub.new_peer();
    hub.join(
        &p,
        "lobby",
        &"ada".into(),
        Some(2),
        Some("an-old-epoch"),
        None,
    )
    .unwrap();
    let frames = drain(&hub, &p);
    assert_eq!(replay_of(&frames), (1, 3, false));
    assert_eq!(seqs(&frames), [1, 2, 3]);
}

#[tokio::test]
async fn max_replay_sends_the_newest_and_says_incomplete() {
    let hub = hub(|c| c.max_replay = 5);
    for i in 1..=20 {
        post(&hub, "lobby", "ada", &format!("m{i}"), None).await;
    }
    let p = hub.new_peer();
    hub.join(&p, "lobby", &"ada".into(), Some(0), None, None)
        .unwrap();
    let frames = drain(&hub, &p);
    assert_eq!(replay_of(&frames), (16, 20, false));
    assert_eq!(seqs(&frames), (16..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn history_pages_back_with_before_to_the_first_message() {
    let hub = hub(|_| {});
    for i in 1..=25 {
        post(&hub, "lobby", "ada", &format!("m{i}"), None).await;
    }
    let mut before = 26;
    let mut seen = Vec::new();
    loop {
        let page = hub
            .history("lobby", Range::Before(before), 10)
            .await
            .unwrap();
        seen.splice(0..0, page.messages.iter().map(|m| m.seq));
        if page.complete {
            break;
        }
        before = page.messages[0].seq;
    }
    assert_eq!(seen, (1..=25).collect::<Vec<_>>());
}
