//! The v1.2 lifecycle rules through [`Core`], frame by frame: changes and replies folded into the
//! messages held, each `seq` once, replays and pages in current state not folded twice, and the
//! resume point waiting for a change that a cut connection never delivered.

use std::sync::Arc;

use banter_protocol::http::MessagePage;
use banter_protocol::{Change, ChangeKind, ChatMessage, ClientMsg, Reaction};

use super::*;

fn msg(seq: u64, user: &str, text: &str) -> ChatMessage {
    ChatMessage {
        room: "lobby".into(),
        seq,
        id: format!("id-{seq}"),
        user: user.into(),
        text: text.into(),
        ts: 1_000 + seq,
        ..Default::default()
    }
}

fn reply(seq: u64, root: u64) -> ChatMessage {
    ChatMessage {
        reply_to: Some(root),
        ..msg(seq, "bob", "re")
    }
}

fn change(seq: u64, target: u64, user: &str, kind: ChangeKind, arg: &str) -> Change {
    Change {
        room: "lobby".into(),
        seq,
        target,
        user: user.into(),
        ts: 1_000 + seq,
        kind,
        text: (kind == ChangeKind::Edit).then(|| arg.to_owned()),
        emoji: matches!(kind, ChangeKind::React | ChangeKind::Unreact).then(|| arg.to_owned()),
    }
}

fn edit(seq: u64, target: u64, text: &str) -> Change {
    change(seq, target, "ada", ChangeKind::Edit, text)
}

fn react(seq: u64, target: u64, user: &str, remove: bool) -> Change {
    let kind = if remove {
        ChangeKind::Unreact
    } else {
        ChangeKind::React
    };
    change(seq, target, user, kind, "👍")
}

fn joined_at(head: u64) -> Core {
    let mut c = Core::new(KEEP_PER_ROOM);
    c.follow("lobby", Some(head));
    c.joined("lobby", head, "e1");
    c
}

fn held(c: &Core, seq: u64) -> Arc<ChatMessage> {
    c.room("lobby").unwrap().store.get(seq).unwrap().clone()
}

fn thumbs(users: &[&str]) -> Vec<Reaction> {
    vec![Reaction {
        emoji: "👍".into(),
        users: users.iter().map(|u| u.to_string()).collect(),
    }]
}

#[test]
fn live_changes_fold_into_the_message_held_each_once() {
    let mut c = joined_at(0);
    c.message(msg(1, "ada", "helo"));
    let folded = c.change(&edit(2, 1, "hello")).unwrap().target.unwrap();
    assert_eq!(
        (folded.text.as_str(), folded.edited_ts),
        ("hello", Some(1_002))
    );
    c.change(&react(3, 1, "bob", false)).unwrap();
    c.change(&react(4, 1, "bob", true)).unwrap();
    assert!(
        c.change(&react(3, 1, "bob", false)).is_none(),
        "seq 3 again"
    );
    assert!(
        held(&c, 1).reactions.is_empty(),
        "the repeat did not re-add it"
    );
    c.change(&react(5, 1, "cy", false)).unwrap();
    assert_eq!(held(&c, 1).reactions, thumbs(&["cy"]));
    c.change(&change(6, 1, "ada", ChangeKind::Delete, ""))
        .unwrap();
    let m = held(&c, 1);
    assert!(m.deleted && m.text.is_empty() && m.reactions.is_empty());
    assert_eq!(c.resume("lobby").0, Some(6));
    let unknown = c.change(&edit(7, 99, "x")).unwrap();
    assert_eq!(unknown.target, None, "not held: taken, nothing to fold");
}

#[test]
fn replies_count_on_their_root_once() {
    let mut c = joined_at(0);
    c.message(msg(1, "ada", "q?"));
    c.message(reply(2, 1));
    c.message(reply(3, 1));
    assert!(c.message(reply(3, 1)).is_none());
    let root = held(&c, 1);
    assert_eq!((root.replies, root.last_reply_ts), (Some(2), Some(1_003)));
    let thread = c.room("lobby").unwrap().store.thread(1);
    assert_eq!(thread.map(|m| m.seq).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn a_replay_in_current_state_is_not_folded_twice_and_a_cut_resumes_before_the_missing_change() {
    // The server's state after 1..=6: message 1 edited twice and reacted to, 2 a reply to 1.
    let mut root = msg(1, "ada", "v2");
    root.edited_ts = Some(1_005);
    root.reactions = thumbs(&["bob"]);
    root.replies = Some(1);
    root.last_reply_ts = Some(1_002);
    let mut c = joined_at(0);
    c.replay_range("lobby", 1, 6, "e1", true);
    c.message(root.clone());
    c.message(reply(2, 1));
    // The replay's changes follow its messages; the connection is cut after the first.
    c.change(&edit(3, 1, "v1")).unwrap();
    assert_eq!(held(&c, 1).text, "v2", "the state already reflects seq 3");
    assert_eq!(c.resume("lobby").0, Some(3), "4..=6 not seen yet");
    c.disconnected();
    c.joined("lobby", 7, "e1");
    c.replay_range("lobby", 4, 7, "e1", true);
    for ch in [
        react(4, 1, "cy", false),
        edit(5, 1, "v2"),
        react(6, 1, "cy", true),
        react(7, 1, "dan", false),
    ] {
        c.change(&ch).unwrap();
    }
    let m = held(&c, 1);
    assert_eq!((m.text.as_str(), m.replies), ("v2", Some(1)));
    assert_eq!(m.reactions, thumbs(&["bob", "dan"]));
    assert_eq!(c.resume("lobby").0, Some(7));
}

#[test]
fn a_replay_that_starts_past_the_resume_point_lets_it_pass_what_is_gone() {
    let mut c = joined_at(3);
    c.joined("lobby", 500, "e1");
    assert_eq!(
        c.replay_range("lobby", 400, 500, "e1", false),
        Some(Gap::MissedWhileAway)
    );
    c.message(msg(400, "ada", "x"));
    assert_eq!(c.resume("lobby").0, Some(400));

    // A caller that does not give `from`: the replay's first entry says it.
    let mut old = joined_at(3);
    old.joined("lobby", 500, "e1");
    assert_eq!(
        old.replay("lobby", 500, "e1", false),
        Some(Gap::MissedWhileAway)
    );
    old.change(&edit(401, 400, "y")).unwrap();
    old.message(msg(402, "ada", "z"));
    assert_eq!(old.resume("lobby").0, Some(402));
}

#[test]
fn a_forward_page_takes_each_entry_once_and_frames_after_it_fold_on() {
    let mut c = Core::new(KEEP_PER_ROOM);
    c.follow("lobby", Some(0));
    let mut one = msg(1, "ada", "v1");
    one.edited_ts = Some(1_002);
    one.replies = Some(1);
    let page = MessagePage {
        room: "lobby".into(),
        messages: vec![one, reply(3, 1)],
        complete: true,
        epoch: "e1".into(),
        changes: vec![edit(2, 1, "v1")],
    };
    let (messages, changes) = c.page(page.clone()).unwrap();
    assert_eq!((messages.len(), changes.len()), (2, 1));
    assert_eq!(
        held(&c, 1).replies,
        Some(1),
        "the page's reply is in the root's count"
    );
    assert_eq!(
        c.page(page).unwrap(),
        (vec![], vec![]),
        "a page again: nothing new"
    );
    assert!(c.change(&edit(2, 1, "v1")).is_none());
    c.change(&edit(4, 1, "v3")).unwrap();
    c.message(reply(5, 1));
    let m = held(&c, 1);
    assert_eq!((m.text.as_str(), m.replies), ("v3", Some(2)));
    assert_eq!(c.resume("lobby").0, Some(5));
}

#[test]
fn a_scrollback_page_folds_its_changes_into_older_messages_held_only_when_new() {
    let mut c = joined_at(10);
    c.message(msg(11, "ada", "x"));
    c.change(&react(12, 11, "bob", false)).unwrap();
    let mut eleven = msg(11, "ada", "x");
    eleven.reactions = thumbs(&["bob"]);
    let page = MessagePage {
        room: "lobby".into(),
        messages: vec![msg(9, "ada", "nine"), eleven],
        complete: true,
        epoch: "e1".into(),
        changes: vec![react(12, 11, "bob", false)],
    };
    assert_eq!(c.earlier(page), Some(1));
    assert_eq!(held(&c, 11).reactions, thumbs(&["bob"]));
    assert_eq!(held(&c, 9).text, "nine");
}

#[test]
fn edits_deletions_and_reactions_wait_their_turn_with_the_sends_by_client_id() {
    let mut c = joined_at(0);
    let first = c.submit("c1", "lobby", "q?", PendingOp::Send);
    assert!(matches!(
        first,
        Some(ClientMsg::Send { reply_to: None, .. })
    ));
    assert_eq!(
        c.submit("c2", "lobby", "fixed", PendingOp::Edit { seq: 1 }),
        None
    );
    let thumbs = PendingOp::React {
        seq: 1,
        emoji: "👍".into(),
        remove: false,
    };
    assert_eq!(c.submit("c3", "lobby", "", thumbs), None);
    let next = c.ack("c1").next;
    let edit = ClientMsg::Edit {
        room: "lobby".into(),
        seq: 1,
        text: "fixed".into(),
        client_id: Some("c2".into()),
    };
    assert_eq!(next, Some(edit.clone()));
    c.disconnected();
    c.joined("lobby", 1, "e1");
    assert_eq!(c.pending().len(), 2);
    let again = c.pending().in_all().next().unwrap().frame();
    assert_eq!(again, edit, "written again with the same client_id");
    assert!(!c.pending().in_all().any(|p| p.is_message()));
    let next = c.ack("c2").next;
    assert!(matches!(
        next,
        Some(ClientMsg::React {
            seq: 1,
            remove: false,
            ..
        })
    ));
    c.ack("c3");
    let reply = c.submit("c4", "lobby", "a", PendingOp::Reply { reply_to: 1 });
    assert!(matches!(
        reply,
        Some(ClientMsg::Send {
            reply_to: Some(1),
            ..
        })
    ));
    let delete = c.submit("c5", "lobby", "", PendingOp::Delete { seq: 1 });
    assert_eq!(delete, None, "after the reply's ack");
}

#[test]
fn a_reply_a_snapshot_root_already_counts_is_not_counted_again() {
    // A replay up to 3 whose root (read late) already counts reply 5, committed after it.
    let mut root = msg(1, "ada", "q?");
    root.replies = Some(2);
    root.last_reply_ts = Some(1_005);
    let mut c = joined_at(0);
    c.replay_range("lobby", 1, 3, "e1", true);
    c.message(root);
    c.message(reply(2, 1));
    c.message(msg(3, "cy", "x"));
    c.message(reply(5, 1));
    assert_eq!(held(&c, 1).replies, Some(2), "5 was in the snapshot");
    let mut six = reply(6, 1);
    six.ts = 1_006;
    let mut seven = reply(7, 1);
    seven.ts = 1_006;
    c.message(six);
    c.message(seven);
    let m = held(&c, 1);
    assert_eq!((m.replies, m.last_reply_ts), (Some(4), Some(1_006)));
}
