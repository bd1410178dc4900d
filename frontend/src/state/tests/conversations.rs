//! Private conversations: joined `with` the other user, written and resumed like a room, added
//! by a `direct` or by `GET /api/conversations`.

use super::*;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const DM: &str = "dm-0123456789abcdef0123456789abcdef";

fn joined_dm(peer: &str, head: u64) -> ServerMsg {
    ServerMsg::Joined {
        room: DM.into(),
        users: vec!["ada".into()],
        head,
        epoch: "e9".into(),
        users_total: None,
        with: Some(peer.into()),
        read: 0,
        role: None,
        private: false,
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
    assert!(s.pending().is_empty());
    // Grace answers while ada looks at the lobby: unread in the conversation (twice delivered,
    // counted once), read again when ada opens it.
    s.switch_room("lobby").expect("valid");
    s.handle(ServerMsg::Message(msg(DM, 2, "grace", "what?")));
    s.handle(ServerMsg::Message(msg(DM, 2, "grace", "what?")));
    assert_eq!(s.room_state(DM).map(|r| r.unread), Some(1));
    assert_eq!(s.unread_total(), 1);
    assert!(s.open_dm("grace").expect("valid").is_empty());
    assert_eq!(s.unread_total(), 0);
    // Typing goes to the conversation too (after the quiet while that follows a send).
    assert!(
        matches!(s.typing_frame(5_000.0).as_slice(), [ClientMsg::Typing { room }] if room == DM)
    );

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
        s.store(DM).map(MessageStore::len),
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
        members: Vec::new(),
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

/// "grace joined" in a conversation with grace says nothing: no quiet line there.
#[test]
fn a_conversation_has_no_join_or_leave_lines() {
    let mut s = online_with(&[]);
    s.open_dm("grace").expect("valid name");
    s.handle(joined_dm("grace", 0));
    s.handle(presence(DM, "grace", PresenceState::Joined));
    s.handle(presence(DM, "grace", PresenceState::Left));
    assert_eq!(s.room_state(DM).map(|r| r.events.len()), Some(0));
}
