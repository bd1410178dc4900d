//! The client's rules, checked without a DOM or a socket. They run in a real browser with
//! `cargo test -p banter-frontend --target wasm32-unknown-unknown` (wasm-bindgen-test) and
//! natively with plain `cargo test -p banter-frontend`.

use super::*;
use banter_protocol::http::MessagePage;
use banter_protocol::{AuthMode, ChatMessage, ErrorCode, PresenceState, ServerMsg};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn msg(room: &str, seq: u64, user: &str, text: &str) -> ChatMessage {
    ChatMessage {
        room: room.into(),
        seq,
        id: format!("id-{room}-{seq}"),
        user: user.into(),
        text: text.into(),
        ts: 1_764_110_000_000 + seq,
    }
}

fn welcome() -> ServerMsg {
    ServerMsg::welcome("s-1".into(), "0.1.0", Limits::default(), AuthMode::Open)
}

fn joined(room: &str, head: u64) -> ServerMsg {
    ServerMsg::Joined {
        room: room.into(),
        users: vec!["ada".into()],
        head,
        epoch: "e1".into(),
        users_total: None,
        with: None,
    }
}

fn replay(room: &str, from: u64, to: u64, complete: bool) -> ServerMsg {
    ServerMsg::Replay {
        room: room.into(),
        from,
        to,
        complete,
        epoch: "e1".into(),
    }
}

/// A session named `ada`, welcomed and joined to the lobby, with `seqs` received.
fn online_with(seqs: &[u64]) -> Session {
    let mut s = Session::new("t");
    s.set_name("ada").expect("valid name");
    s.handle(welcome());
    s.handle(joined("lobby", seqs.iter().copied().max().unwrap_or(0)));
    for &seq in seqs {
        s.handle(ServerMsg::Message(msg("lobby", seq, "grace", "hi")));
    }
    s
}

fn sends(frames: &[ClientMsg]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ClientMsg::Send {
                text, client_id, ..
            } => Some((text.clone(), client_id.clone().unwrap_or_default())),
            _ => None,
        })
        .collect()
}

#[test]
fn store_dedupes_by_seq_and_keeps_order() {
    let mut store = MessageStore::default();
    assert!(store.insert(msg("lobby", 2, "a", "two")));
    assert!(store.insert(msg("lobby", 1, "a", "one")));
    assert!(!store.insert(msg("lobby", 2, "a", "two again")));
    assert_eq!(store.len(), 2);
    let texts: Vec<_> = store.last(10).iter().map(|m| m.text.clone()).collect();
    assert_eq!(texts, ["one", "two"]);
    assert_eq!(store.high_seq(), 2);
}

#[test]
fn store_window_and_cap_keep_the_newest_and_the_resume_point() {
    let mut store = MessageStore::with_cap(100);
    for seq in 1..=5_000 {
        store.insert(msg("lobby", seq, "a", "x"));
    }
    assert_eq!(store.len(), 100);
    assert_eq!(store.high_seq(), 5_000);
    let window = store.last(3);
    let seqs: Vec<_> = window.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [4_998, 4_999, 5_000]);
    // An evicted message replayed again is not re-added at the front.
    assert!(!store.insert(msg("lobby", 7, "a", "old")));
    assert!(!store.contains(7));
}

#[test]
fn a_held_window_grows_instead_of_sliding() {
    let mut store = MessageStore::default();
    for seq in 1..=500 {
        store.insert(msg("lobby", seq, "a", "x"));
    }
    let newest = store.window(None, 200, 1_000);
    assert_eq!(newest.first().map(|m| m.seq), Some(301));
    // The reader holds their place at 301; new messages add to the end, nothing leaves the top.
    store.insert(msg("lobby", 501, "a", "x"));
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
fn first_join_asks_for_everything_after_welcome() {
    let mut s = Session::new("t");
    assert!(
        s.set_name("  ada ").expect("valid").is_empty(),
        "no join before welcome"
    );
    assert_eq!(s.name.as_deref(), Some("ada"));
    let out = s.handle(welcome());
    assert_eq!(
        out,
        [ClientMsg::Join {
            room: "lobby".into(),
            name: "ada".into(),
            since: Some(0),
            epoch: None,
            with: None,
        }]
    );
}

#[test]
fn resume_joins_with_the_highest_seq_seen() {
    let mut s = online_with(&[1, 2, 3]);
    s.disconnected();
    let out = s.handle(welcome());
    assert_eq!(
        out,
        [ClientMsg::Join {
            room: "lobby".into(),
            name: "ada".into(),
            since: Some(3),
            epoch: Some("e1".into()),
            with: None,
        }]
    );
    // The replay and a late duplicate of a live message are stored once.
    s.handle(joined("lobby", 5));
    s.handle(replay("lobby", 4, 5, true));
    for seq in [4, 5, 5, 3] {
        s.handle(ServerMsg::Message(msg("lobby", seq, "grace", "x")));
    }
    let room = s.current().expect("lobby known");
    assert_eq!(room.store.len(), 5);
    assert_eq!(s.resume_point("lobby"), 5);
    assert_eq!(room.gap, None);
}

#[test]
fn incomplete_replay_is_reported() {
    let mut s = online_with(&[1, 2]);
    s.disconnected();
    s.handle(welcome());
    s.handle(joined("lobby", 3_000));
    s.handle(replay("lobby", 2_001, 3_000, false));
    assert_eq!(s.current().and_then(|r| r.gap), Some(Gap::MissedWhileAway));

    let mut fresh = online_with(&[]);
    fresh.handle(replay("lobby", 2_001, 3_000, false));
    assert_eq!(fresh.current().and_then(|r| r.gap), Some(Gap::OlderNotKept));
}

#[test]
fn server_history_reset_drops_the_stale_messages() {
    let mut s = online_with(&[1, 2, 3, 4]);
    s.disconnected();
    s.handle(welcome());
    s.handle(joined("lobby", 1));
    let room = s.current().expect("lobby known");
    assert!(room.store.is_empty());
    assert_eq!(room.gap, Some(Gap::ServerReset));
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "new one")));
    assert_eq!(s.resume_point("lobby"), 1);
}

#[test]
fn a_send_is_pending_until_its_ack() {
    let mut s = online_with(&[1]);
    let out = s.compose("  hello  ").expect("valid text");
    let sent = sends(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "hello");
    let id = sent[0].1.clone();
    assert!(id.starts_with("t-"));
    assert_eq!(s.pending.len(), 1);
    // The echo arrives before the ack; the ack clears the pending send.
    s.handle(ServerMsg::Message(msg("lobby", 2, "ada", "hello")));
    s.handle(ServerMsg::Ack {
        client_id: id,
        room: "lobby".into(),
        seq: 2,
    });
    assert!(s.pending.is_empty());
}

#[test]
fn unacked_sends_go_again_with_the_same_client_id_after_reconnect() {
    let mut s = online_with(&[1]);
    let first = sends(&s.compose("one").expect("valid"));
    s.disconnected();
    // Written while offline: queued, nothing goes out.
    assert!(s.compose("two").expect("valid").is_empty());
    assert_eq!(s.pending.len(), 2);

    assert_eq!(s.handle(welcome()).len(), 1, "just the join");
    let again = sends(&s.handle(joined("lobby", 1)));
    assert_eq!(again.len(), 2);
    assert_eq!(again[0], first[0], "same text, same client_id");
    assert_eq!(again[1].0, "two");
    // Nothing is sent twice on the same connection.
    assert!(s.handle(joined("lobby", 1)).is_empty());
}

#[test]
fn refused_sends_can_be_retried_or_discarded() {
    let mut s = online_with(&[]);
    let id = sends(&s.compose("spam").expect("valid"))[0].1.clone();
    s.handle(ServerMsg::error(
        ErrorCode::RateLimited,
        "slow down",
        Some(id.clone()),
    ));
    let p = s.pending.in_room("lobby").next().expect("still listed");
    // A rate-limit refusal is told with the rate in force (the server's sentence omits it).
    assert_eq!(p.state, PendingState::Failed(s.rate_sentence()));
    assert_eq!(s.notice, None, "a send's refusal is shown on the send");
    assert_eq!(sends(&s.retry(&id)), [("spam".to_string(), id.clone())]);
    s.pending.discard(&id);
    assert!(s.pending.is_empty());
}

#[test]
fn empty_and_too_long_text_is_refused_locally() {
    let mut s = online_with(&[]);
    assert!(s.compose("   \n ").is_err());
    assert!(s.compose(&"x".repeat(4_001)).is_err());
    assert!(s.compose(&"x".repeat(4_000)).is_ok());
    assert_eq!(s.pending.len(), 1);
    assert!(Session::new("t").compose("hi").is_err(), "no name yet");
}

#[test]
fn switching_rooms_keeps_every_room_joined_and_resumes() {
    let mut s = online_with(&[1, 2]);
    let out = s.switch_room("other").expect("valid room");
    assert_eq!(
        out,
        [ClientMsg::Join {
            room: "other".into(),
            name: "ada".into(),
            since: Some(0),
            epoch: None,
            with: None,
        }],
        "the lobby stays joined: no leave"
    );
    s.handle(joined("other", 0));
    assert_eq!(s.my_rooms, ["lobby", "other"]);
    assert!(s.switch_room("lobby").expect("valid room").is_empty());
    // After a reconnect, every room is joined again, each from its own resume point.
    s.disconnected();
    let out = s.handle(welcome());
    assert_eq!(
        out,
        [
            ClientMsg::Join {
                room: "lobby".into(),
                name: "ada".into(),
                since: Some(2),
                epoch: Some("e1".into()),
                with: None,
            },
            ClientMsg::Join {
                room: "other".into(),
                name: "ada".into(),
                since: Some(0),
                epoch: None,
                with: None,
            }
        ]
    );
    assert!(s.switch_room("Bad Room").is_err());
}

#[test]
fn leaving_a_room_leaves_it_and_a_late_joined_is_ignored() {
    let mut s = Session::new("t");
    s.set_name("ada").expect("valid");
    s.handle(welcome()); // join lobby
    s.switch_room("other").expect("valid"); // join other
    let (out, next) = s.leave_room("lobby"); // before lobby's `joined` arrives
    assert!(out.is_empty(), "not joined yet, nothing to leave: {out:?}");
    assert_eq!(next, None, "lobby was not on screen");
    assert_eq!(
        s.handle(joined("lobby", 0)),
        [ClientMsg::Leave {
            room: "lobby".into()
        }]
    );
    assert_eq!(s.room_state("lobby").map(|r| r.joined), None);
    s.handle(joined("other", 0));
    let (out, next) = s.leave_room("other");
    assert!(matches!(&out[0], ClientMsg::Leave { room } if room == "other"));
    assert_eq!(
        next.as_deref(),
        Some("lobby"),
        "with no room left, the lobby"
    );
    assert_eq!(s.my_rooms, ["lobby"]);
    assert_eq!(s.room, "lobby");
}

#[test]
fn messages_of_other_rooms_do_not_leak_into_the_current_one() {
    let mut s = online_with(&[1]);
    s.handle(ServerMsg::Message(msg("other", 1, "bob", "elsewhere")));
    assert_eq!(s.current().map(|r| r.store.len()), Some(1));
    assert_eq!(s.room_state("other").map(|r| r.store.len()), Some(1));
}

#[test]
fn presence_tracks_users() {
    let mut s = online_with(&[]);
    s.handle(ServerMsg::Presence {
        room: "lobby".into(),
        user: "grace".into(),
        state: PresenceState::Joined,
    });
    assert_eq!(s.current().map(|r| r.users.len()), Some(2));
    s.handle(ServerMsg::Presence {
        room: "lobby".into(),
        user: "grace".into(),
        state: PresenceState::Left,
    });
    assert_eq!(s.current().map(|r| r.users.len()), Some(1));
}

#[test]
fn a_refused_name_asks_again_and_a_new_name_needs_a_reconnect() {
    let mut s = online_with(&[]);
    s.handle(ServerMsg::error(ErrorCode::NameTaken, "taken", None));
    assert_eq!(s.name_refused.as_deref(), Some("taken"));
    assert!(s.set_name("grace").expect("valid").is_empty());
    assert!(s.needs_reconnect_for_name());
    assert!(s.set_name("").is_err());

    // Even the same name again gets a fresh connection after a refusal; after it, a join.
    let mut s = online_with(&[]);
    s.handle(ServerMsg::error(ErrorCode::InvalidName, "bad", None));
    s.set_name("ada").expect("valid locally");
    assert!(s.needs_reconnect_for_name());
    s.disconnected();
    assert!(!s.needs_reconnect_for_name());
    assert_eq!(s.handle(welcome()).len(), 1, "joins on the new connection");
}

#[test]
fn room_addresses() {
    let l = Limits::default();
    assert_eq!(room_from_hash("", &l).as_deref(), Ok("lobby"));
    assert_eq!(room_from_hash("#/", &l).as_deref(), Ok("lobby"));
    assert_eq!(room_from_hash("#/r/other", &l).as_deref(), Ok("other"));
    assert_eq!(
        room_from_hash("#/r/team-a_2/", &l).as_deref(),
        Ok("team-a_2")
    );
    assert!(room_from_hash("#/r/Nope!", &l).is_err());
    assert!(room_from_hash("#/x", &l).is_err());
    assert_eq!(hash_for_room("ops"), "#/r/ops");
}

#[test]
fn backoff_grows_with_jitter_and_a_cap() {
    assert_eq!(backoff_ms(1, 0.0), 500);
    assert_eq!(backoff_ms(1, 1.0), 1_000);
    assert_eq!(backoff_ms(3, 0.0), 2_000);
    assert_eq!(backoff_ms(3, 1.0), 4_000);
    assert_eq!(backoff_ms(40, 1.0), 30_000);
    assert_eq!(backoff_ms(40, 0.0), 15_000);
    for attempt in 1..20 {
        assert!(backoff_ms(attempt, 0.5) <= backoff_ms(attempt + 1, 0.5));
    }
}

#[test]
fn counter_shows_near_the_limit() {
    let l = Limits::default();
    assert!(!counter_visible(3_199, &l));
    assert!(counter_visible(3_200, &l));
    assert_eq!(text_len("  héllo \n"), 5);
}

fn joined_epoch(room: &str, head: u64, epoch: &str) -> ServerMsg {
    ServerMsg::Joined {
        room: room.into(),
        users: vec!["ada".into()],
        head,
        epoch: epoch.into(),
        users_total: None,
        with: None,
    }
}

fn presence(room: &str, user: &str, state: PresenceState) -> ServerMsg {
    ServerMsg::Presence {
        room: room.into(),
        user: user.into(),
        state,
    }
}

#[test]
fn another_epoch_drops_what_the_room_held() {
    let mut s = online_with(&[1, 2, 3]);
    s.disconnected();
    s.handle(welcome());
    // Same head, another life of the room: the seqs we hold mean other messages now.
    s.handle(joined_epoch("lobby", 3, "e2"));
    let room = s.current().expect("lobby");
    assert!(room.store.is_empty());
    assert_eq!(room.gap, Some(Gap::ServerReset));
    assert_eq!(room.epoch, "e2");
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "new life")));
    s.disconnected();
    let out = s.handle(welcome());
    assert!(
        matches!(&out[0], ClientMsg::Join { since: Some(1), epoch: Some(e), .. } if e == "e2"),
        "resumes in the new epoch: {out:?}"
    );
    // The notice can be dismissed.
    s.dismiss_gap();
    assert_eq!(s.current().and_then(|r| r.gap), None);
}

#[test]
fn unread_and_mentions_count_in_rooms_not_on_screen() {
    let mut s = online_with(&[]);
    s.switch_room("ops").expect("valid");
    s.handle(joined("ops", 5));
    // History from before we came is not unread.
    for seq in 1..=5 {
        s.handle(ServerMsg::Message(msg("ops", seq, "grace", "old")));
    }
    s.switch_room("lobby").expect("valid");
    assert_eq!(s.room_state("ops").map(|r| r.unread), Some(0));
    s.handle(ServerMsg::Message(msg("ops", 6, "grace", "news")));
    s.handle(ServerMsg::Message(msg("ops", 7, "grace", "@ada look")));
    s.handle(ServerMsg::Message(msg("ops", 7, "grace", "@ada look")));
    s.handle(ServerMsg::Message(msg("ops", 8, "ada", "my own")));
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (2, 1));
    // The room on screen does not count; the title total does.
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "here")));
    assert_eq!(s.current().map(|r| r.unread), Some(0));
    assert_eq!(s.unread_total(), 2);
    assert!(s.alerts.is_empty(), "the page is visible: no notification");
    s.switch_room("ops").expect("valid");
    assert_eq!(s.unread_total(), 0);
}

#[test]
fn a_hidden_page_counts_the_room_on_screen_and_alerts_mentions() {
    let mut s = online_with(&[]);
    s.set_hidden(true);
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "hey @ada")));
    assert_eq!(s.unread_total(), 1);
    assert_eq!(s.alerts.len(), 1);
    assert!(s.alerts[0].title.contains("grace"));
    s.set_hidden(false);
    assert_eq!(s.unread_total(), 0);
}

#[test]
fn typing_is_throttled_shown_and_cleared() {
    let mut s = online_with(&[]);
    assert_eq!(s.typing_frame(0.0).len(), 1);
    assert!(s.typing_frame(2_999.0).is_empty(), "at most every 3 s");
    assert_eq!(s.typing_frame(3_000.0).len(), 1);

    s.now = 10_000.0;
    s.handle(presence("lobby", "grace", PresenceState::Typing));
    assert_eq!(s.current().map(|r| r.typing.len()), Some(1));
    assert!(!s.typing_expired(14_000.0));
    assert!(s.typing_expired(15_000.0));
    assert!(s.expire_typing(15_000.0));
    assert_eq!(s.current().map(|r| r.typing.len()), Some(0));
    // Their message clears it at once.
    s.handle(presence("lobby", "grace", PresenceState::Typing));
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "done")));
    assert_eq!(s.current().map(|r| r.typing.len()), Some(0));
}

#[test]
fn joins_and_leaves_become_quiet_lines_after_the_newest_message() {
    let mut s = online_with(&[1, 2]);
    s.handle(presence("lobby", "grace", PresenceState::Joined));
    s.handle(presence("lobby", "grace", PresenceState::Joined));
    s.handle(ServerMsg::Message(msg("lobby", 3, "grace", "hi")));
    s.handle(presence("lobby", "grace", PresenceState::Left));
    let lines: Vec<(u64, bool)> = s
        .current()
        .expect("lobby")
        .events
        .iter()
        .map(|e| (e.after_seq, e.joined))
        .collect();
    assert_eq!(lines, [(2, true), (3, false)]);
    assert_eq!(
        s.current().map(|r| r.users.clone()),
        Some(vec!["ada".into()])
    );
}

const DM: &str = "dm-0123456789abcdef0123456789abcdef";

fn joined_dm(peer: &str, head: u64) -> ServerMsg {
    ServerMsg::Joined {
        room: DM.into(),
        users: vec!["ada".into()],
        head,
        epoch: "e9".into(),
        users_total: None,
        with: Some(peer.into()),
    }
}

fn direct(from: &str, to: &str, seq: u64, text: &str) -> ServerMsg {
    ServerMsg::Direct(banter_protocol::DirectMessage {
        from: from.into(),
        to: to.into(),
        text: text.into(),
        id: format!("d{seq}"),
        ts: 1_764_110_000_000 + seq,
        client_id: None,
        room: Some(DM.into()),
        seq: Some(seq),
    })
}

#[test]
fn a_conversation_is_joined_with_the_peer_and_written_like_a_room() {
    let mut s = online_with(&[]);
    let out = s.open_dm("grace").expect("valid name");
    assert!(
        matches!(out.as_slice(), [ClientMsg::Join { room, with: Some(w), since: Some(0), .. }]
            if room.is_empty() && w == "grace"),
        "joined with `with`: {out:?}"
    );
    assert!(s.open_dm("grace").expect("valid").is_empty(), "asked once");
    // Written before the id is known: it waits, then goes to the conversation's id.
    assert!(s.compose("psst").expect("valid").is_empty());
    let out = s.handle(joined_dm("grace", 0));
    assert!(
        matches!(out.as_slice(), [ClientMsg::Send { room, text, .. }] if room == DM && text == "psst"),
        "{out:?}"
    );
    assert_eq!(s.screen_room(), Some(DM));
    s.handle(ServerMsg::Ack {
        client_id: "t-1".into(),
        room: DM.into(),
        seq: 1,
    });
    s.handle(ServerMsg::Message(msg(DM, 1, "ada", "psst")));
    assert!(s.pending.is_empty());
    // Grace answers while ada looks at the lobby: unread in the conversation (twice delivered,
    // counted once), read again when ada opens it.
    s.switch_room("lobby").expect("valid");
    s.handle(ServerMsg::Message(msg(DM, 2, "grace", "what?")));
    s.handle(ServerMsg::Message(msg(DM, 2, "grace", "what?")));
    assert_eq!(s.room_state(DM).map(|r| r.unread), Some(1));
    assert_eq!(s.unread_total(), 1);
    assert!(s.open_dm("grace").expect("valid").is_empty());
    assert_eq!(s.unread_total(), 0);
    // Typing goes to the conversation too.
    assert!(matches!(s.typing_frame(0.0).as_slice(), [ClientMsg::Typing { room }] if room == DM));

    // After a reconnect it is resumed like a room: `with`, since the last seq, in its epoch.
    s.disconnected();
    assert!(s.compose("later").expect("valid").is_empty());
    let out = s.handle(welcome());
    assert!(
        out.iter().any(|f| matches!(f,
            ClientMsg::Join { with: Some(w), since: Some(2), epoch: Some(e), .. }
                if w == "grace" && e == "e9")),
        "{out:?}"
    );
    let out = s.handle(joined_dm("grace", 2));
    assert_eq!(sends(&out).len(), 1, "the queued send goes once joined");
    assert_eq!(
        s.room_state(DM).map(|r| r.store.len()),
        Some(2),
        "nothing lost, nothing doubled"
    );
}

#[test]
fn a_direct_for_a_new_conversation_adds_it_joins_it_and_counts_it_unread() {
    let mut s = online_with(&[]);
    s.hidden = true;
    let out = s.handle(direct("grace", "ada", 3, "are you there?"));
    assert!(
        matches!(out.as_slice(), [ClientMsg::Join { with: Some(w), .. }] if w == "grace"),
        "{out:?}"
    );
    assert_eq!(
        s.conversations.get("grace").and_then(|c| c.room.clone()),
        Some(DM.to_string())
    );
    s.handle(joined_dm("grace", 3));
    for seq in 1..=3 {
        let from = if seq == 2 { "ada" } else { "grace" };
        s.handle(ServerMsg::Message(msg(DM, seq, from, "old or new")));
    }
    // Only the message that came as news is unread; the page is hidden: a notification.
    assert_eq!(s.unread_total(), 1);
    assert_eq!(s.alerts.len(), 1);
    assert_eq!(s.alerts[0].title, "grace wrote to you");
    // A second direct on a connection that asked already writes no second join.
    assert!(s.handle(direct("grace", "ada", 4, "hello?")).is_empty());
}

#[test]
fn listed_conversations_are_joined_most_recent_first() {
    let mut s = online_with(&[]);
    let summary = |room: &str, with: &str, ts: u64| banter_protocol::http::ConversationSummary {
        room: room.into(),
        with: with.into(),
        head: 1,
        ts,
    };
    let out = s.add_conversations(&[summary("dm-b", "linus", 20), summary("dm-a", "grace", 10)]);
    assert_eq!(out.len(), 2);
    let peers: Vec<&str> = s
        .conversations
        .all()
        .iter()
        .map(|c| c.peer.as_str())
        .collect();
    assert_eq!(peers, ["linus", "grace"]);
    // A new message moves its conversation to the top.
    s.handle(ServerMsg::Message(ChatMessage {
        ts: 30,
        ..msg("dm-a", 2, "grace", "hi")
    }));
    assert_eq!(s.conversations.all()[0].peer, "grace");
    assert!(
        s.add_conversations(&[summary("dm-a", "grace", 10)])
            .is_empty()
    );
}

#[test]
fn the_rate_limit_refusal_says_the_rate_and_retries_together() {
    let mut s = online_with(&[]);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            sends(&s.compose(&format!("m{i}")).expect("valid"))[0]
                .1
                .clone()
        })
        .collect();
    for id in &ids[1..] {
        s.handle(ServerMsg::error(
            ErrorCode::RateLimited,
            "slow down: the burst allows 40 messages, then the sustained rate",
            Some(id.clone()),
        ));
    }
    let reasons: Vec<String> = s
        .pending
        .in_room("lobby")
        .filter_map(|p| match &p.state {
            PendingState::Failed(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(
        reasons[0].contains("20 messages per second") && reasons[0].contains("40"),
        "{}",
        reasons[0]
    );
    let again = sends(&s.retry_all());
    assert_eq!(again.len(), 2, "both refused sends go again, same ids");
    assert_eq!(again[0].1, ids[1]);
}

#[test]
fn token_mode_signs_in_before_joining() {
    let token_welcome = ServerMsg::welcome("s".into(), "0.1.0", Limits::default(), AuthMode::Token);
    let mut s = Session::new("t");
    s.handle(token_welcome.clone());
    assert_eq!(
        s.screen(),
        Screen::SignIn,
        "no token: explain how to get one"
    );

    let mut s = Session::new("t");
    s.set_token("tok".into());
    assert_eq!(
        s.screen(),
        Screen::Chat,
        "a token held: connecting, no name prompt"
    );
    assert_eq!(
        s.handle(token_welcome.clone()),
        [ClientMsg::Auth {
            token: "tok".into()
        }]
    );
    let out = s.handle(ServerMsg::Authenticated {
        user: "ada".into(),
        exp: 1,
    });
    assert!(
        matches!(&out[..], [ClientMsg::Join { room, name, .. }] if room == "lobby" && name == "ada")
    );
    assert_eq!(s.signed_in.as_deref(), Some("ada"));

    // A refused token is dropped and the sign-in page says why.
    s.handle(ServerMsg::error(
        ErrorCode::Unauthorized,
        "token expired",
        None,
    ));
    assert_eq!(s.token, None);
    assert_eq!(s.auth_error.as_deref(), Some("token expired"));
    s.disconnected();
    s.handle(token_welcome);
    assert_eq!(s.screen(), Screen::SignIn);

    assert_eq!(
        token_from_fragment("#token=abc.def").as_deref(),
        Some("abc.def")
    );
    assert_eq!(
        token_from_fragment("#token=abc&x=1").as_deref(),
        Some("abc")
    );
    assert_eq!(token_from_fragment("#/r/lobby"), None);
    assert_eq!(token_from_fragment("#token="), None);
}

#[test]
fn show_earlier_counts_only_older_messages() {
    let mut store = MessageStore::default();
    for seq in 1..=1_000 {
        store.insert(msg("lobby", seq, "a", "x"));
    }
    assert_eq!(store.count_before(1), 0);
    for seq in 1_001..=1_050 {
        store.insert(msg("lobby", seq, "a", "x"));
    }
    assert_eq!(
        store.count_before(1),
        0,
        "newer messages are not earlier ones"
    );
    assert_eq!(store.count_before(801), 800);
}

#[test]
fn scrollback_pages_join_the_store_until_the_start() {
    let mut s = online_with(&[]);
    for seq in 801..=1_000 {
        s.handle(ServerMsg::Message(msg("lobby", seq, "grace", "x")));
    }
    assert!(s.current().is_some_and(RoomState::more_on_server));
    let page = |from: u64, to: u64, complete: bool, epoch: &str| MessagePage {
        room: "lobby".into(),
        messages: (from..=to)
            .map(|q| msg("lobby", q, "grace", "old"))
            .collect(),
        complete,
        epoch: epoch.into(),
    };
    // A page from another life of the room is not mixed in.
    assert_eq!(s.add_earlier("lobby", page(601, 800, false, "e2")), 0);
    assert_eq!(s.add_earlier("lobby", page(601, 800, false, "e1")), 200);
    assert!(s.current().is_some_and(RoomState::more_on_server));
    assert_eq!(s.add_earlier("lobby", page(1, 600, true, "e1")), 600);
    let room = s.current().expect("lobby");
    assert_eq!(room.store.first_seq(), Some(1));
    assert!(!room.more_on_server());
    assert_eq!(room.unread, 0, "history is not unread");
}
