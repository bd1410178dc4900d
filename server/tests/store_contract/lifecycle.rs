//! The store contract's v1.2 lifecycle promises: a change takes the next `seq` and folds into
//! its target; only the author edits or deletes; a deleted message is a tombstone with nothing
//! left of it; a change is deduped by `client_id`; the per-message limits hold; replies join
//! the root's thread.

use super::*;

pub fn change_of(user: &str, target: u64, kind: ChangeKind, text: &str, emoji: &str) -> NewMessage {
    NewMessage {
        room: "r".into(),
        user: user.to_owned(),
        text: text.to_owned(),
        change: Some(NewChange {
            target,
            kind,
            emoji: (!emoji.is_empty()).then(|| emoji.to_owned()),
            moderator: false,
            limits: ChangeLimits {
                edits: 2,
                reactions: 3,
            },
        }),
        ..NewMessage::default()
    }
}

pub async fn change(
    store: &Store,
    user: &str,
    target: u64,
    kind: ChangeKind,
    arg: &str,
) -> Appended {
    let (text, emoji) = match kind {
        ChangeKind::Edit => (arg, ""),
        _ => ("", arg),
    };
    append(store, change_of(user, target, kind, text, emoji))
        .await
        .expect("stored")
}

pub async fn refused(
    store: &Store,
    user: &str,
    target: u64,
    kind: ChangeKind,
    arg: &str,
) -> Refusal {
    let (text, emoji) = match kind {
        ChangeKind::Edit => (arg, ""),
        _ => ("", arg),
    };
    match append(store, change_of(user, target, kind, text, emoji)).await {
        Err(StoreError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The whole room, messages and changes apart.
pub async fn state(store: &Store) -> (Vec<ChatMessage>, Vec<Change>) {
    let (entries, _) = store.read("r", Range::After(0), 1000).await.expect("read");
    let (mut msgs, mut changes) = (Vec::new(), Vec::new());
    for e in entries {
        match e {
            Entry::Message(m) => msgs.push(m),
            Entry::Change(c) => changes.push(c),
        }
    }
    (msgs, changes)
}

pub async fn changes_take_gap_free_seqs_and_fold_into_their_target(b: Backend) {
    let store = b.open();
    post(&store, "r", "helo").await;
    append(&store, message("r", "bob", "hi", None))
        .await
        .expect("stored");
    assert_eq!(
        change(&store, "ada", 1, ChangeKind::Edit, "hello")
            .await
            .ack_seq(),
        3
    );
    assert_eq!(
        change(&store, "bob", 1, ChangeKind::React, "👍")
            .await
            .ack_seq(),
        4
    );
    let twice = change(&store, "bob", 1, ChangeKind::React, "👍").await;
    assert!(
        twice.noop && twice.ack_seq() == 0,
        "a reaction given twice stores nothing"
    );
    let never = change(&store, "ada", 1, ChangeKind::Unreact, "👍").await;
    assert!(
        never.noop,
        "taking back a reaction never given stores nothing"
    );
    assert_eq!(
        post(&store, "r", "next").await.stored.seq(),
        5,
        "no seq was taken"
    );
    let (msgs, changes) = state(&store).await;
    let m = &msgs[0];
    assert_eq!((m.text.as_str(), m.edited_ts.is_some()), ("hello", true));
    assert_eq!(
        (m.seq, m.user.as_str()),
        (1, "ada"),
        "an edit keeps seq and user"
    );
    assert_eq!(m.reactions.len(), 1);
    assert_eq!(m.reactions[0].users, ["bob"]);
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [3, 4]);
    assert_eq!(changes[0].text.as_deref(), Some("hello"));
    assert_eq!(store.room("r").await.expect("meta").head, 5);
}

pub async fn only_the_author_changes_and_a_deleted_message_is_gone(b: Backend) {
    let store = b.open();
    post(&store, "r", "mine").await;
    let forbidden = refused(&store, "bob", 1, ChangeKind::Edit, "theirs").await;
    assert!(matches!(forbidden, Refusal::Forbidden(_)));
    let forbidden = refused(&store, "bob", 1, ChangeKind::Delete, "").await;
    assert!(matches!(forbidden, Refusal::Forbidden(_)));
    assert_eq!(
        refused(&store, "ada", 9, ChangeKind::Edit, "x").await,
        Refusal::NotFound
    );
    change(&store, "ada", 1, ChangeKind::Edit, "secret two").await;
    // A change's seq is not a message.
    assert_eq!(
        refused(&store, "ada", 2, ChangeKind::Edit, "x").await,
        Refusal::NotFound
    );
    change(&store, "bob", 1, ChangeKind::React, "🎉").await;
    assert_eq!(
        change(&store, "ada", 1, ChangeKind::Delete, "")
            .await
            .ack_seq(),
        4
    );
    for kind in [ChangeKind::Edit, ChangeKind::React, ChangeKind::Delete] {
        assert_eq!(
            refused(&store, "ada", 1, kind, "x").await,
            Refusal::NotFound
        );
    }
    let (msgs, changes) = state(&store).await;
    let m = &msgs[0];
    assert!(
        m.deleted && m.text.is_empty() && m.reactions.is_empty(),
        "{m:?}"
    );
    assert_eq!(
        changes[0].text, None,
        "the earlier edit's text is erased too"
    );
    assert_eq!(changes[1].emoji, None, "and the reaction's emoji");
    assert_eq!(changes.len(), 3);
}

pub async fn a_change_is_deduped_by_client_id_and_limits_hold(b: Backend) {
    let store = b.open();
    post(&store, "r", "x").await;
    let mut first = change_of("bob", 1, ChangeKind::React, "", "👍");
    first.dedupe_key = Some(store::dedupe_key("bob", "c1"));
    let a = append(&store, first.clone()).await.expect("stored");
    let again = append(&store, first).await.expect("stored");
    assert!(again.duplicate && again.ack_seq() == a.ack_seq());
    change(&store, "ada", 1, ChangeKind::Edit, "y").await;
    change(&store, "ada", 1, ChangeKind::Edit, "z").await;
    let limit = refused(&store, "ada", 1, ChangeKind::Edit, "w").await;
    assert!(matches!(limit, Refusal::Limit(_)), "at most 2 edits here");
    change(&store, "cy", 1, ChangeKind::React, "👍").await;
    change(&store, "cy", 1, ChangeKind::React, "🎉").await;
    let limit = refused(&store, "dee", 1, ChangeKind::React, "👍").await;
    assert!(
        matches!(limit, Refusal::Limit(_)),
        "at most 3 reactions here"
    );
    assert_eq!(store.room("r").await.expect("meta").head, 6);
}

pub async fn a_reply_to_a_reply_joins_the_root_thread(b: Backend) {
    let store = b.open();
    post(&store, "r", "root").await;
    let mut reply = message("r", "bob", "first", None);
    reply.reply_to = Some(1);
    append(&store, reply.clone()).await.expect("stored");
    reply.reply_to = Some(2);
    let second = append(&store, reply.clone()).await.expect("stored");
    assert_eq!(second.stored.msg().and_then(|m| m.reply_to), Some(1));
    reply.reply_to = Some(42);
    assert!(matches!(
        append(&store, reply).await,
        Err(StoreError::Refused(Refusal::NotFound))
    ));
    let (msgs, _) = state(&store).await;
    assert_eq!(msgs[0].replies, Some(2));
    assert_eq!(msgs[0].last_reply_ts, Some(second.stored.entry.ts()));
    let (thread, _) = store.thread("r", 1, 0, 10).await.expect("thread");
    let (root, replies) = thread.expect("the root is held");
    assert_eq!(root.replies, Some(2));
    let seqs: Vec<u64> = replies.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [2, 3]);
    // Page by page: one reply, then the replies after it.
    let (page, _) = store.thread("r", 1, 0, 1).await.expect("thread");
    let first: Vec<u64> = page.expect("held").1.iter().map(|m| m.seq).collect();
    assert_eq!(first, [2]);
    let (page, _) = store.thread("r", 1, 2, 1).await.expect("thread");
    let next: Vec<u64> = page.expect("held").1.iter().map(|m| m.seq).collect();
    assert_eq!(next, [3]);
    let (page, _) = store.thread("r", 1, 3, 10).await.expect("thread");
    assert!(page.expect("held").1.is_empty(), "nothing after the last");
}
