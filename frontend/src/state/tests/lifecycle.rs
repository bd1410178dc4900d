//! v1.2 "Message lifecycle" on the page: edits, deletions, reactions and replies asked for,
//! folded from `change` frames once each (also across a reconnect), refusals said, threads'
//! unread replies counted.

use super::*;
use banter_protocol::{Change, ChangeKind};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn change(seq: u64, target: u64, user: &str, kind: ChangeKind, arg: &str) -> ServerMsg {
    ServerMsg::Change(Change {
        room: "lobby".into(),
        seq,
        target,
        user: user.into(),
        ts: 1_764_110_100_000 + seq,
        kind,
        text: (kind == ChangeKind::Edit).then(|| arg.into()),
        emoji: matches!(kind, ChangeKind::React | ChangeKind::Unreact).then(|| arg.into()),
    })
}

fn held(s: &Session, seq: u64) -> ChatMessage {
    s.current_message(seq).expect("held").clone()
}

#[test]
fn an_edit_is_asked_acked_and_folded() {
    let mut s = online_with(&[]);
    s.handle(ServerMsg::Message(msg("lobby", 1, "ada", "helo")));
    s.handle(ServerMsg::Message(msg("lobby", 2, "grace", "hi")));
    assert_eq!(s.last_own_message(), Some(1), "Up arrow edits this one");
    let out = s.edit(1, "hello").expect("own message");
    assert!(
        matches!(&out[..], [ClientMsg::Edit { room, seq: 1, text, client_id: Some(_) }]
            if room == "lobby" && text == "hello"),
        "{out:?}"
    );
    assert!(s.edit(2, "mine now").is_err(), "only the author edits");
    assert!(s.edit(1, " ").is_err(), "checked like a message");
    s.handle(ServerMsg::Ack {
        client_id: "t-1".into(),
        room: "lobby".into(),
        seq: 3,
    });
    s.handle(change(3, 1, "ada", ChangeKind::Edit, "hello"));
    let m = held(&s, 1);
    assert_eq!(
        (m.text.as_str(), m.seq, m.user.as_str()),
        ("hello", 1, "ada")
    );
    assert!(m.edited_ts.is_some(), "shows (edited)");
    assert!(s.pending().is_empty());
}

#[test]
fn reactions_toggle_and_fold_once_even_after_a_reconnect() {
    let mut s = online_with(&[1]);
    let out = s.toggle_reaction(1, "👍").expect("held");
    assert!(matches!(
        &out[..],
        [ClientMsg::React {
            seq: 1,
            remove: false,
            ..
        }]
    ));
    s.handle(ServerMsg::Ack {
        client_id: "t-1".into(),
        room: "lobby".into(),
        seq: 2,
    });
    s.handle(change(2, 1, "ada", ChangeKind::React, "👍"));
    s.handle(change(3, 1, "bob", ChangeKind::React, "👍"));
    // The same entries again (a replay overlapping what came live): nothing doubles.
    s.disconnected();
    s.handle(welcome());
    s.handle(joined("lobby", 3));
    s.handle(change(2, 1, "ada", ChangeKind::React, "👍"));
    s.handle(change(3, 1, "bob", ChangeKind::React, "👍"));
    let m = held(&s, 1);
    assert_eq!(m.reactions.len(), 1);
    assert_eq!(m.reactions[0].users, ["ada", "bob"]);
    // Given already: the toggle takes it back.
    let out = s.toggle_reaction(1, "👍").expect("held");
    assert!(
        matches!(&out[..], [ClientMsg::React { remove: true, .. }]),
        "{out:?}"
    );
}

#[test]
fn a_deleted_message_is_a_tombstone_that_takes_nothing_more() {
    let mut s = online_with(&[1]);
    s.handle(change(2, 1, "grace", ChangeKind::React, "🎉"));
    s.handle(change(3, 1, "grace", ChangeKind::Delete, ""));
    let m = held(&s, 1);
    assert!(m.deleted && m.text.is_empty() && m.reactions.is_empty());
    assert!(s.toggle_reaction(1, "👍").is_err());
    assert!(s.edit(1, "x").is_err());
}

#[test]
fn a_refused_change_is_said_and_does_not_hold_later_sends() {
    let mut s = online_with(&[1]);
    let out = s.delete(1).expect("queued");
    assert_eq!(out.len(), 1);
    assert!(
        s.compose("after").expect("valid").is_empty(),
        "waits its turn"
    );
    let out = s.handle(ServerMsg::Error {
        code: ErrorCode::Forbidden,
        message: "not yours".into(),
        client_id: Some("t-1".into()),
    });
    assert!(
        matches!(&out[..], [ClientMsg::Send { text, .. }] if text == "after"),
        "the next send goes: {out:?}"
    );
    assert!(s.notice.as_deref().is_some_and(|n| n.contains("not yours")));
    assert_eq!(s.pending().len(), 1);
}

#[test]
fn replies_join_the_root_thread_and_count_unread() {
    let mut s = online_with(&[1]);
    let out = s.reply(1, "first answer").expect("valid");
    assert!(
        matches!(
            &out[..],
            [ClientMsg::Send {
                reply_to: Some(1),
                ..
            }]
        ),
        "{out:?}"
    );
    s.handle(ServerMsg::Ack {
        client_id: "t-1".into(),
        room: "lobby".into(),
        seq: 2,
    });
    let mut reply = msg("lobby", 2, "ada", "first answer");
    reply.reply_to = Some(1);
    s.handle(ServerMsg::Message(reply));
    // A reply to a reply goes to the root's thread.
    let out = s.reply(2, "second").expect("valid");
    assert!(
        matches!(
            &out[..],
            [ClientMsg::Send {
                reply_to: Some(1),
                ..
            }]
        ),
        "{out:?}"
    );
    let mut other = msg("lobby", 3, "grace", "from grace");
    other.reply_to = Some(1);
    s.handle(ServerMsg::Message(other));
    assert_eq!(held(&s, 1).replies, Some(2));
    assert_eq!(s.thread_unread(1), 1, "grace's reply; not ada's own");
    s.mark_thread_read(1);
    assert_eq!(s.thread_unread(1), 0);
}
