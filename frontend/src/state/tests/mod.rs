//! The page's state, checked without a DOM or a socket: rooms joined and resumed, unread,
//! presence, typing, names, sign-in, scrollback; sends in `sends.rs`, conversations in
//! `conversations.rs`. The rules every client shares are tested once in `crates/client-core`.
//! They run in a real browser with `cargo test -p banter-frontend --target
//! wasm32-unknown-unknown` (wasm-bindgen-test) and natively with plain `cargo test -p
//! banter-frontend`.

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
        ..Default::default()
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
        read: 0,
        role: None,
        private: false,
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

mod conversations;
mod issue18;
mod lifecycle;
mod ranges;
mod reads;
mod room_list;
mod sends;
mod uploads;

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
    assert_eq!(s.current_store().map(MessageStore::len), Some(5));
    assert_eq!(s.resume_point("lobby"), 5);
    assert_eq!(s.current().and_then(|r| r.gap), None);
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
    assert!(s.current_store().is_some_and(MessageStore::is_empty));
    assert_eq!(s.current().and_then(|r| r.gap), Some(Gap::ServerReset));
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "new one")));
    assert_eq!(s.resume_point("lobby"), 1);
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
    assert!(
        s.switch_room("other").expect("valid room").is_empty(),
        "opened again while its join is in flight (a search result, then its address): one join"
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
fn a_room_whose_join_was_refused_is_asked_again_when_opened_again() {
    let mut s = online_with(&[1]);
    assert_eq!(s.switch_room("team").expect("valid").len(), 1);
    // A private room: the join is refused (no `joined`), the room stays on the list.
    s.handle(ServerMsg::Error {
        code: ErrorCode::Forbidden,
        message: "team is private".into(),
        client_id: None,
    });
    s.switch_room("lobby").expect("valid");
    // Made public since: typing it again asks again, and only until it is joined.
    let out = s.switch_room("team").expect("valid");
    assert!(matches!(&out[..], [ClientMsg::Join { room, .. }] if room == "team"));
    s.handle(joined("team", 0));
    s.switch_room("lobby").expect("valid");
    assert!(s.switch_room("team").expect("valid").is_empty());
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
    assert!(s.room_state("lobby").is_none() && s.store("lobby").is_none());
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
    // "Undo" is offered for the room just left, and going back to it takes the offer away.
    assert_eq!(s.left.as_deref(), Some("other"));
    let out = s.switch_room("other").expect("valid");
    assert!(matches!(&out[..], [ClientMsg::Join { room, .. }] if room == "other"));
    assert_eq!(s.left, None);
}

#[test]
fn messages_of_other_rooms_do_not_leak_into_the_current_one() {
    let mut s = online_with(&[1]);
    s.handle(ServerMsg::Message(msg("other", 1, "bob", "elsewhere")));
    assert_eq!(s.current_store().map(MessageStore::len), Some(1));
    assert_eq!(s.store("other").map(MessageStore::len), Some(1));
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
        read: 0,
        role: None,
        private: false,
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
    assert!(s.current_store().is_some_and(MessageStore::is_empty));
    assert_eq!(s.current().and_then(|r| r.gap), Some(Gap::ServerReset));
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
    // `@here` and `@everyone` raise the mention badge too (they are highlighted like one).
    s.handle(ServerMsg::Message(msg("ops", 9, "grace", "@here standup")));
    s.handle(ServerMsg::Message(msg(
        "ops",
        10,
        "grace",
        "@everyone lunch",
    )));
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (4, 3));
    // The room on screen does not count; the title total does.
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "here")));
    assert_eq!(s.current().map(|r| r.unread), Some(0));
    assert_eq!(s.unread_total(), 4);
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

/// The server sends `typing` on its presence tick, so the `typing` made before a message may
/// come just after it: that one must not show "is typing…" for 5 s more.
#[test]
fn a_message_ends_typing_even_when_the_typing_comes_late() {
    let mut s = online_with(&[]);
    s.now = 10_000.0;
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "done")));
    s.now = 10_300.0;
    s.handle(presence("lobby", "grace", PresenceState::Typing));
    assert_eq!(s.current().map(|r| r.typing.len()), Some(0), "late typing");
    // Others still show, and grace's next message being written does too.
    s.handle(presence("lobby", "ada2", PresenceState::Typing));
    assert_eq!(s.current().map(|r| r.typing.len()), Some(1));
    s.now = 11_000.0;
    s.handle(presence("lobby", "grace", PresenceState::Typing));
    assert_eq!(s.current().map(|r| r.typing.len()), Some(2));
}

/// After a send the sender stays quiet longer than receivers ignore late typing, so typing
/// right after a message still shows (a moment later) and never as late news.
#[test]
fn typing_waits_a_moment_after_a_send() {
    let mut s = online_with(&[]);
    s.now = 20_000.0;
    s.compose("sent").expect("valid");
    assert!(
        s.typing_frame(20_100.0).is_empty(),
        "held right after the send"
    );
    assert_eq!(
        s.typing_quiet_for(20_100.0),
        Some(TYPING_QUIET_AFTER_SEND_MS - 100.0)
    );
    assert_eq!(
        s.typing_frame(20_000.0 + TYPING_QUIET_AFTER_SEND_MS).len(),
        1
    );
    assert_eq!(s.typing_quiet_for(21_500.0), None);
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
fn scrollback_pages_join_the_store_until_the_start() {
    let mut s = online_with(&[]);
    for seq in 801..=1_000 {
        s.handle(ServerMsg::Message(msg("lobby", seq, "grace", "x")));
    }
    assert!(s.current_more_on_server());
    let page = |from: u64, to: u64, complete: bool, epoch: &str| MessagePage {
        room: "lobby".into(),
        messages: (from..=to)
            .map(|q| msg("lobby", q, "grace", "old"))
            .collect(),
        complete,
        epoch: epoch.into(),
        changes: Vec::new(),
    };
    // A page from another life of the room is not mixed in.
    assert_eq!(s.add_earlier("lobby", page(601, 800, false, "e2")), 0);
    assert_eq!(s.add_earlier("lobby", page(601, 800, false, "e1")), 200);
    assert!(s.current_more_on_server());
    assert_eq!(s.add_earlier("lobby", page(1, 600, true, "e1")), 600);
    assert_eq!(s.current_store().and_then(MessageStore::first_seq), Some(1));
    assert!(!s.current_more_on_server());
    assert_eq!(
        s.current().map(|r| r.unread),
        Some(0),
        "history is not unread"
    );
}
