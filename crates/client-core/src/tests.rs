//! The rules, checked frame by frame (`cargo test -p banter-client-core`): resume points and
//! epochs, dedupe, pending sends in the order written, the message store, backoff.

use banter_protocol::http::MessagePage;
use banter_protocol::{ChatMessage, ClientMsg};

use super::*;

fn msg(room: &str, seq: u64) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        id: format!("id-{room}-{seq}"),
        user: "grace".into(),
        text: format!("m{seq}"),
        ts: 1_764_110_000_000 + seq,
        ..Default::default()
    }
}

fn join(room: &str, since: Option<u64>, epoch: Option<&str>) -> ClientMsg {
    ClientMsg::Join {
        room: room.into(),
        name: "ada".into(),
        since,
        epoch: epoch.map(str::to_string),
        with: None,
    }
}

/// The texts and client ids of the `send` frames.
fn sent(frames: impl IntoIterator<Item = ClientMsg>) -> Vec<(String, String)> {
    frames
        .into_iter()
        .filter_map(|f| match f {
            ClientMsg::Send {
                text, client_id, ..
            } => Some((text, client_id.unwrap_or_default())),
            _ => None,
        })
        .collect()
}

fn text(frame: Option<ClientMsg>) -> Option<String> {
    sent(frame).pop().map(|(t, _)| t)
}

/// A core following `lobby`, joined in epoch `e1` at `head`, with `seqs` received.
fn online_with(seqs: &[u64]) -> Core {
    let mut c = Core::new(KEEP_PER_ROOM);
    c.follow("lobby", Some(0));
    let head = seqs.iter().copied().max().unwrap_or(0);
    c.joined("lobby", head, "e1");
    for &seq in seqs {
        c.message(msg("lobby", seq));
    }
    c
}

#[test]
fn resume_joins_after_the_highest_seq_seen_in_its_epoch() {
    let mut c = Core::new(KEEP_PER_ROOM);
    assert_eq!(c.join_frame("lobby", "ada"), join("lobby", Some(0), None));
    c.joined("lobby", 0, "e1");
    assert_eq!(
        c.join_frame("lobby", "ada"),
        join("lobby", Some(0), None),
        "no epoch before a seq counts in it"
    );
    for seq in [1, 2, 3] {
        assert!(c.message(msg("lobby", seq)).is_some());
    }
    c.disconnected();
    assert_eq!(
        c.join_frame("lobby", "ada"),
        join("lobby", Some(3), Some("e1"))
    );
}

#[test]
fn replayed_and_repeated_messages_are_delivered_once() {
    let mut c = online_with(&[1, 2, 3]);
    c.disconnected();
    c.joined("lobby", 5, "e1");
    assert_eq!(c.replay("lobby", 5, "e1", true), None);
    let new: Vec<u64> = [2, 3, 4, 5, 5, 3]
        .into_iter()
        .filter_map(|s| c.message(msg("lobby", s)))
        .map(|m| m.seq)
        .collect();
    assert_eq!(new, [4, 5]);
    assert_eq!(c.room("lobby").map(|r| r.store.len()), Some(5));
    assert_eq!(c.resume("lobby"), (Some(5), Some("e1".into())));
}

#[test]
fn a_room_followed_without_since_resumes_from_its_head_when_joined() {
    let mut c = Core::new(0);
    c.follow("lobby", None);
    assert_eq!(c.join_frame("lobby", "ada"), join("lobby", None, None));
    c.joined("lobby", 7, "e1");
    // Cut off before anything new came: what was posted meanwhile is asked for.
    c.disconnected();
    assert_eq!(
        c.join_frame("lobby", "ada"),
        join("lobby", Some(7), Some("e1"))
    );
    // A bot keeps no messages, yet drops repeats.
    assert!(c.message(msg("lobby", 8)).is_some());
    assert!(c.message(msg("lobby", 8)).is_none());
    assert_eq!(c.room("lobby").map(|r| r.store.len()), Some(0));
}

#[test]
fn another_epoch_drops_what_the_room_held_and_counts_from_zero() {
    let mut c = online_with(&[1, 2, 3]);
    c.disconnected();
    let joined = c.joined("lobby", 3, "e2");
    assert!(joined.reset, "same head, another life");
    assert!(c.room("lobby").is_some_and(|r| r.store.is_empty()));
    assert_eq!(c.room("lobby").map(|r| r.epoch.as_str()), Some("e2"));
    assert!(
        c.message(msg("lobby", 1)).is_some(),
        "seq 1 of the new life"
    );
    assert_eq!(c.resume("lobby"), (Some(1), Some("e2".into())));
    // The same epoch again is no reset.
    assert!(!c.joined("lobby", 1, "e2").reset);
}

#[test]
fn a_head_behind_what_we_saw_is_a_reset_too() {
    let mut c = online_with(&[1, 2, 3, 4]);
    c.disconnected();
    // A v1 server names no epoch: only the head tells.
    assert!(c.joined("lobby", 1, "").reset);
    assert!(c.message(msg("lobby", 1)).is_some());
    assert_eq!(c.resume("lobby").0, Some(1));
}

#[test]
fn an_incomplete_replay_names_what_is_missing() {
    let mut c = online_with(&[1, 2]);
    c.disconnected();
    c.joined("lobby", 3_000, "e1");
    assert_eq!(
        c.replay("lobby", 3_000, "e1", false),
        Some(Gap::MissedWhileAway)
    );
    let mut fresh = online_with(&[]);
    assert_eq!(
        fresh.replay("lobby", 3_000, "e1", false),
        Some(Gap::OlderNotKept)
    );
    assert_eq!(
        fresh.replay("lobby", 3_000, "e9", false),
        Some(Gap::ServerReset),
        "a replay of another epoch is a reset"
    );
}

#[test]
fn sends_wait_for_their_room_to_be_joined() {
    let mut c = Core::new(0);
    c.follow("lobby", None);
    assert_eq!(c.send("c1", "lobby", "early"), None, "not joined yet");
    let joined = c.joined("lobby", 0, "e1");
    assert_eq!(sent(joined.send), [("early".into(), "c1".into())]);
}

#[test]
fn one_send_per_room_is_in_flight_and_acks_release_the_next_in_order() {
    let mut c = online_with(&[]);
    c.follow("ops", Some(0));
    c.joined("ops", 0, "e1");
    assert_eq!(text(c.send("c1", "lobby", "one")).as_deref(), Some("one"));
    assert_eq!(c.send("c2", "lobby", "two"), None, "waits for one's ack");
    assert_eq!(c.send("c3", "lobby", "three"), None);
    assert_eq!(
        text(c.send("o1", "ops", "elsewhere")).as_deref(),
        Some("elsewhere"),
        "rooms do not wait for each other"
    );
    let acked = c.ack("c1");
    assert_eq!(acked.send.map(|s| s.text).as_deref(), Some("one"));
    assert_eq!(text(acked.next).as_deref(), Some("two"));
    assert_eq!(text(c.ack("c2").next).as_deref(), Some("three"));
    assert_eq!(c.ack("c3").next, None);
    assert_eq!(c.ack("c3").send, None, "an ack for nothing pending");
    assert_eq!(c.pending().len(), 1);
}

#[test]
fn unacked_sends_go_again_with_the_same_client_id_after_a_reconnect() {
    let mut c = online_with(&[1]);
    let first = sent(c.send("c1", "lobby", "one"));
    c.send("c2", "lobby", "two");
    c.disconnected();
    assert_eq!(c.send("c3", "lobby", "three"), None, "offline: queued");
    let again = c.joined("lobby", 1, "e1");
    assert_eq!(sent(again.send), first, "same text, same client_id");
    assert_eq!(text(c.ack("c1").next).as_deref(), Some("two"));
    assert_eq!(text(c.ack("c2").next).as_deref(), Some("three"));
    // Nothing is written twice on one connection.
    assert_eq!(c.joined("lobby", 1, "e1").send, None);
}

/// A message with files is written again after a reconnect exactly as first written: same
/// `client_id`, same text, same file ids (so the server stores it once, with its files).
#[test]
fn a_send_with_files_goes_again_with_its_files_after_a_reconnect() {
    let mut c = online_with(&[1]);
    let files = vec!["f1".to_string(), "f2".to_string()];
    let first = c.send_files("c1", "lobby", "", PendingOp::Send, files.clone());
    let Some(ClientMsg::Send { files: written, .. }) = &first else {
        panic!("a send is written at once: {first:?}");
    };
    assert_eq!(written, &files);
    c.disconnected();
    let again = c.joined("lobby", 1, "e1");
    assert_eq!(again.send, first, "same client_id, text and files");
    assert!(c.ack("c1").next.is_none());
    assert!(c.pending().is_empty());
}

/// The web app's "Retry all" after a rate-limit refusal re-sent messages out of order (43, 50,
/// 59, 31…): refused sends and those behind them go again in the order they were written, one
/// at a time, and nothing written later overtakes them.
#[test]
fn refused_sends_hold_the_later_ones_and_retry_in_the_order_written() {
    let mut c = online_with(&[]);
    c.send("c1", "lobby", "m1");
    for i in 2..=5 {
        c.send(&format!("c{i}"), "lobby", &format!("m{i}"));
    }
    let next = c.ack("c1").next;
    assert_eq!(text(next).as_deref(), Some("m2"));
    assert!(c.fail("c2", "too fast".into()));
    let states: Vec<PendingState> = c.pending().in_all().map(|p| p.state.clone()).collect();
    assert_eq!(
        states,
        vec![PendingState::Failed("too fast".into()); 4],
        "m3..m5 held behind m2, same reason"
    );
    assert_eq!(c.send("c6", "lobby", "m6"), None, "written later: held too");
    assert!(matches!(
        c.pending().in_all().last().map(|p| &p.state),
        Some(PendingState::Failed(_))
    ));
    // Retry all: m2 first, then each after the previous ack.
    let mut order = Vec::new();
    let mut next = c.retry_all("lobby");
    let mut n = 2;
    while let Some(frame) = next {
        order.extend(sent(Some(frame)).into_iter().map(|(t, _)| t));
        next = c.ack(&format!("c{n}")).next;
        n += 1;
    }
    assert_eq!(order, ["m2", "m3", "m4", "m5", "m6"]);
    assert!(c.pending().is_empty());
}

#[test]
fn retrying_one_refused_send_takes_the_earlier_refused_ones_first() {
    let mut c = online_with(&[]);
    c.send("c1", "lobby", "m1");
    c.send("c2", "lobby", "m2");
    c.send("c3", "lobby", "m3");
    c.fail("c1", "busy".into());
    assert_eq!(text(c.retry("c2")).as_deref(), Some("m1"));
    assert_eq!(text(c.ack("c1").next).as_deref(), Some("m2"));
    assert_eq!(c.ack("c2").next, None, "m3 was not retried: still refused");
    assert_eq!(text(c.retry("c3")).as_deref(), Some("m3"));
    assert_eq!(c.retry("c3"), None, "in flight: nothing to retry");
}

#[test]
fn a_discarded_send_lets_the_next_go() {
    let mut c = online_with(&[]);
    c.send("c1", "lobby", "m1");
    c.send("c2", "lobby", "m2");
    // A client that does not keep refusals (a bot) drops the refused send and goes on.
    assert_eq!(text(c.discard("c1")).as_deref(), Some("m2"));
    c.fail("c2", "no".into());
    c.send("c3", "lobby", "m3");
    assert_eq!(c.discard_failed("lobby"), None, "nothing left");
    assert!(c.pending().is_empty());
}

#[test]
fn sends_under_a_key_wait_until_it_is_renamed_to_a_joined_room() {
    let mut c = online_with(&[]);
    assert_eq!(c.send("c1", "@grace", "psst"), None);
    c.rekey("@grace", "dm-1");
    let joined = c.joined("dm-1", 0, "e9");
    assert!(matches!(joined.send, Some(ClientMsg::Send { room, .. }) if room == "dm-1"));
}

#[test]
fn leaving_a_room_forgets_it_and_its_sends() {
    let mut c = online_with(&[1]);
    c.send("c1", "lobby", "bye");
    assert!(c.leave("lobby"), "it was joined: a leave is due");
    assert!(c.pending().is_empty());
    assert!(c.room("lobby").is_none());
    assert!(!c.leave("lobby"));
}

#[test]
fn scrollback_pages_join_the_store_only_in_the_epoch_held() {
    let mut c = Core::new(KEEP_PER_ROOM);
    c.follow("lobby", None);
    c.joined("lobby", 800, "e1");
    for seq in 801..=1_000 {
        c.message(msg("lobby", seq));
    }
    let page = |from: u64, to: u64, epoch: &str| MessagePage {
        room: "lobby".into(),
        messages: (from..=to).map(|q| msg("lobby", q)).collect(),
        complete: false,
        epoch: epoch.into(),
        changes: Vec::new(),
    };
    assert_eq!(c.earlier(page(601, 800, "e2")), None, "another life");
    assert_eq!(c.earlier(page(601, 800, "e1")), Some(200));
    assert_eq!(c.earlier(page(700, 800, "e1")), Some(0), "held already");
    assert_eq!(c.resume("lobby").0, Some(1_000), "older pages move nothing");
}

#[test]
fn store_dedupes_by_seq_and_keeps_order() {
    let mut store = MessageStore::default();
    assert!(store.insert(msg("lobby", 2)));
    assert!(store.insert(msg("lobby", 1)));
    assert!(!store.insert(msg("lobby", 2)));
    assert_eq!(store.len(), 2);
    let seqs: Vec<_> = store.last(10).iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(store.high_seq(), 2);
}

#[test]
fn store_window_and_cap_keep_the_newest_and_the_resume_point() {
    let mut store = MessageStore::with_cap(100);
    for seq in 1..=5_000 {
        store.insert(msg("lobby", seq));
    }
    assert_eq!(store.len(), 100);
    assert_eq!(store.high_seq(), 5_000);
    let seqs: Vec<_> = store.last(3).iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [4_998, 4_999, 5_000]);
    // An evicted message replayed again is not re-added at the front.
    assert!(!store.insert(msg("lobby", 7)));
    assert!(!store.contains(7));
}

#[test]
fn a_held_window_grows_instead_of_sliding() {
    let mut store = MessageStore::default();
    for seq in 1..=500 {
        store.insert(msg("lobby", seq));
    }
    let newest = store.window(None, 200, 1_000);
    assert_eq!(newest.first().map(|m| m.seq), Some(301));
    // The reader holds their place at 301; new messages add to the end, nothing leaves the top.
    store.insert(msg("lobby", 501));
    let held = store.window(Some(301), 200, 1_000);
    assert_eq!(held.len(), 201);
    assert_eq!(held.first().map(|m| m.seq), Some(301));
    // Bounded even while held.
    assert_eq!(store.window(Some(1), 200, 300).len(), 300);
    // "Show earlier" starts 200 before the first shown, then at the oldest held.
    assert_eq!(store.seq_before(301, 200), Some(101));
    assert_eq!(store.seq_before(101, 200), Some(1));
    assert_eq!(store.seq_before(1, 200), Some(1));
}

#[test]
fn show_earlier_counts_only_older_messages() {
    let mut store = MessageStore::default();
    for seq in 1..=1_050 {
        store.insert(msg("lobby", seq));
    }
    assert_eq!(
        store.count_before(1),
        0,
        "newer messages are not earlier ones"
    );
    assert_eq!(store.count_before(801), 800);
}

#[test]
fn backoff_grows_with_jitter_and_a_cap() {
    let b = Backoff::default();
    assert_eq!(
        (b.step_ms(0), b.step_ms(1), b.step_ms(2)),
        (500, 1_000, 2_000)
    );
    assert_eq!(b.step_ms(40), 10_000);
    let mut jitter = Jitter::new(7);
    for attempt in 0..40 {
        let step = b.step_ms(attempt);
        for _ in 0..50 {
            let d = b.delay_ms(attempt, &mut jitter);
            assert!(
                d >= step / 2 && d <= step,
                "attempt {attempt}: {d} of {step}"
            );
        }
    }
    // The upper half is really spread: 1,000 draws of the first step land in every 25 ms bucket.
    let mut buckets = [0u32; 10];
    for _ in 0..1_000 {
        let d = b.delay_ms(0, &mut jitter);
        buckets[((d - 250) / 25).min(9) as usize] += 1;
    }
    assert!(buckets.iter().all(|&n| n > 40), "{buckets:?}");
}

#[test]
fn reconnect_counts_attempts_until_a_connection_is_up() {
    let mut r = Reconnect::new(Backoff::default(), 1);
    let first = r.delay_ms();
    assert!((250..=500).contains(&first));
    let second = r.delay_ms();
    assert!((500..=1_000).contains(&second));
    for _ in 0..10 {
        assert!(r.delay_ms() <= 10_000);
    }
    r.connected();
    assert_eq!(r.attempt(), 0);
    assert!(r.delay_ms() <= 500);
    // Two clients seeded differently do not come back in step.
    let (mut a, mut b) = (Jitter::new(1), Jitter::new(2));
    assert_ne!(a.next_u64(), b.next_u64());
}
