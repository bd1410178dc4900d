//! The store contract: what every history backend promises, run unchanged against each of them
//! (the memory store; SQLite on a real file in a temporary directory; Redis, a real
//! `redis-server` on a free loopback port), through the same `store::open` the server uses.
//!
//! Each promise is one `async fn(Backend)` below, listed once in the `contract!` call at the end,
//! which instantiates it for every backend. A new promise is one function and one name there; a
//! new backend is one constructor and one line in the macro.
//!
//! Promises: `seq` is gap-free under concurrent appends; a burst is stored in the order sent (a
//! `client_id` repeated in it once); a `client_id` is stored once within the dedupe window, and across a reopen of a durable store; epochs (the memory store starts a new
//! one at each open, SQLite and Redis keep theirs); reads page by `since` and by `before`;
//! retention keeps the newest messages and the `seq` carries on; conversations know their
//! members and each user's conversations; the room list holds rooms, not conversations. v1.2:
//! a change takes the next `seq` (a no-op reaction none) and folds into its target; only the
//! author edits or deletes; a deleted message is a tombstone whose text, reactions and earlier
//! edit texts are gone; a change is deduped by `client_id`; the per-message limits hold; a
//! reply to a reply joins the root's thread, which counts its replies. Private rooms: members,
//! roles, bans and mutes are kept (across a reopen of a durable store), what a user may not
//! read is known; moderation entries take gap-free `seq`s among messages.

use banter_protocol::{Change, ChangeKind, ChatMessage, RoomRole};
use banter_server::store::{
    self, Appended, ChangeLimits, Entry, NewChange, NewMessage, Range, Refusal, Settings, Store,
    StoreError,
};
use banter_testkit::{Persistence, Redis, WAIT};

/// A backend under test: how to open its store, and whether it keeps history across a reopen.
struct Backend {
    settings: Settings,
    durable: bool,
    _dir: tempfile::TempDir,
    _redis: Option<Redis>,
}

impl Backend {
    fn memory() -> Self {
        Backend::with("memory", false, None)
    }

    fn sqlite() -> Self {
        Backend::with("sqlite", true, None)
    }

    fn redis() -> Self {
        Backend::with("redis", true, Some(Redis::start(Persistence::Off)))
    }

    fn with(kind: &str, durable: bool, redis: Option<Redis>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut settings = Settings::new(kind, dir.path().to_owned());
        settings.redis_url = redis.as_ref().map(Redis::url);
        Backend {
            settings,
            durable,
            _dir: dir,
            _redis: redis,
        }
    }

    fn open(&self) -> Store {
        store::open(&self.settings).expect("the store opens")
    }

    /// Closes `store` and opens the same backend again (same file, same Redis).
    fn reopen(&self, store: Store) -> Store {
        drop(store);
        self.open()
    }
}

fn message(room: &str, user: &str, text: &str, client_id: Option<&str>) -> NewMessage {
    NewMessage {
        room: room.into(),
        user: user.to_owned(),
        text: text.to_owned(),
        dedupe_key: client_id.map(|c| store::dedupe_key(user, c)),
        ..NewMessage::default()
    }
}

/// Appends and waits for the completion.
async fn append(store: &Store, msg: NewMessage) -> Result<Appended, StoreError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    store.append(
        msg,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    tokio::time::timeout(WAIT, rx)
        .await
        .expect("the append completes")
        .expect("the completion runs")
}

async fn post(store: &Store, room: &str, text: &str) -> Appended {
    append(store, message(room, "ada", text, None))
        .await
        .expect("stored")
}

async fn seqs(store: &Store, room: &str, range: Range, limit: usize) -> Vec<u64> {
    let (msgs, _) = store.read(room, range, limit).await.expect("read");
    msgs.iter().map(|m| m.seq()).collect()
}

// --- The promises ---

async fn seq_is_gap_free_under_concurrent_appends(b: Backend) {
    const WRITERS: usize = 4;
    const EACH: usize = 50;
    let store = b.open();
    let writer = store.clone();
    let got = tokio::task::spawn_blocking(move || {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            for w in 0..WRITERS {
                let (store, tx) = (&writer, tx.clone());
                s.spawn(move || {
                    for i in 0..EACH {
                        let cid = format!("w{w}-{i}");
                        let tx = tx.clone();
                        store.append(
                            message("busy", &format!("w{w}"), &cid, Some(&cid)),
                            Box::new(move |r| {
                                let _ = tx.send(r);
                            }),
                        );
                    }
                });
            }
        });
        (0..WRITERS * EACH)
            .map(|_| rx.recv_timeout(WAIT).expect("every append completes"))
            .map(|r| r.expect("stored").stored.seq())
            .collect::<Vec<u64>>()
    })
    .await
    .expect("the writers");
    let mut sorted = got.clone();
    sorted.sort_unstable();
    let all: Vec<u64> = (1..=(WRITERS * EACH) as u64).collect();
    assert_eq!(sorted, all, "each seq given once, none skipped");
    assert_eq!(seqs(&store, "busy", Range::After(0), 1000).await, all);
    let meta = store.room("busy").await.expect("meta");
    assert_eq!((meta.head, meta.oldest), ((WRITERS * EACH) as u64, 1));
}

/// Posts queued at once (one batch for Redis, one group commit for SQLite) are stored in the
/// order they were sent, per room, and a `client_id` repeated inside the burst is stored once.
async fn a_burst_is_stored_in_the_order_sent_and_deduped_within_it(b: Backend) {
    const N: usize = 100;
    let store = b.open();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut sent = Vec::new();
    for i in 0..N {
        sent.push(("burst", i.to_string(), format!("c{i}")));
        sent.push(("aside", i.to_string(), format!("c{i}")));
        if i == 10 {
            sent.push(("burst", "5 again".into(), "c5".into()));
        }
    }
    for (k, (room, text, cid)) in sent.iter().enumerate() {
        let tx = tx.clone();
        store.append(
            message(room, "ada", text, Some(cid)),
            Box::new(move |r| {
                let _ = tx.send((k, r));
            }),
        );
    }
    let mut got = vec![None; sent.len()];
    for _ in 0..sent.len() {
        let (k, r) = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("every append completes")
            .expect("a completion");
        got[k] = Some(r.expect("stored"));
    }
    for room in ["burst", "aside"] {
        let seqs: Vec<(u64, bool)> = sent
            .iter()
            .zip(&got)
            .filter(|((r, ..), _)| *r == room)
            .map(|(_, a)| {
                a.as_ref()
                    .map(|a| (a.stored.seq(), a.duplicate))
                    .expect("done")
            })
            .collect();
        let mut want: Vec<(u64, bool)> = (1..=N as u64).map(|s| (s, false)).collect();
        if room == "burst" {
            want.insert(11, (6, true));
        }
        assert_eq!(
            seqs, want,
            "{room}: seqs in the order sent, the repeat answered by #6"
        );
        let (entries, _) = store.read(room, Range::After(0), 1000).await.expect("read");
        let texts: Vec<String> = entries
            .iter()
            .map(|e| match e {
                Entry::Message(m) => m.text.clone(),
                Entry::Change(_) => panic!("no changes were sent"),
            })
            .collect();
        let want: Vec<String> = (0..N).map(|i| i.to_string()).collect();
        assert_eq!(texts, want, "{room}: stored in the order sent");
    }
}

async fn a_client_id_is_stored_once_within_the_window(b: Backend) {
    let store = b.open();
    let first = append(&store, message("r", "ada", "hi", Some("c1")))
        .await
        .expect("stored");
    let again = append(&store, message("r", "ada", "hi again", Some("c1")))
        .await
        .expect("answered");
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(
        again.stored.entry, first.stored.entry,
        "the original, as stored"
    );
    let other_user = append(&store, message("r", "bob", "hi", Some("c1")))
        .await
        .expect("stored");
    assert!(!other_user.duplicate, "a client_id is per user");
    let other_room = append(&store, message("s", "ada", "hi", Some("c1")))
        .await
        .expect("stored");
    assert!(!other_room.duplicate, "a client_id is per room");
    assert_eq!(seqs(&store, "r", Range::After(0), 10).await, [1, 2]);
}

async fn a_durable_store_dedupes_across_a_reopen(b: Backend) {
    let store = b.open();
    let first = append(&store, message("r", "ada", "hi", Some("c1")))
        .await
        .expect("stored");
    let store = b.reopen(store);
    let again = append(&store, message("r", "ada", "hi", Some("c1")))
        .await
        .expect("answered");
    if b.durable {
        assert!(again.duplicate, "found after the reopen");
        assert_eq!(again.stored.seq(), first.stored.seq());
        assert_eq!(again.epoch, first.epoch);
    } else {
        assert!(!again.duplicate);
        assert_ne!(again.epoch, first.epoch, "a new life: a new epoch");
    }
}

async fn epochs_name_the_life_of_a_room(b: Backend) {
    let store = b.open();
    let before = store.room("r").await.expect("meta");
    assert_eq!((before.head, before.oldest), (0, 1), "never written");
    let a = post(&store, "r", "one").await;
    assert_eq!(a.epoch, before.epoch, "the epoch its first message gets");
    assert_eq!(store.room("r").await.expect("meta").epoch, a.epoch);
    let store = b.reopen(store);
    let after = store.room("r").await.expect("meta");
    if b.durable {
        assert_eq!(after.epoch, a.epoch, "kept across a reopen");
        assert_eq!(after.head, 1);
        assert_eq!(post(&store, "r", "two").await.stored.seq(), 2);
    } else {
        assert_ne!(after.epoch, a.epoch, "a new epoch at each open");
        assert_eq!(after.head, 0);
    }
}

async fn reads_page_by_since_and_by_before(b: Backend) {
    let store = b.open();
    for i in 1..=25 {
        post(&store, "r", &format!("m{i}")).await;
    }
    let after = |s| seqs(&store, "r", Range::After(s), 10);
    assert_eq!(after(0).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(after(10).await, (11..=20).collect::<Vec<_>>());
    assert_eq!(after(20).await, (21..=25).collect::<Vec<_>>());
    assert!(after(25).await.is_empty());
    let before = |s| seqs(&store, "r", Range::Before(s), 10);
    assert_eq!(before(26).await, (16..=25).collect::<Vec<_>>());
    assert_eq!(before(16).await, (6..=15).collect::<Vec<_>>());
    assert_eq!(before(6).await, (1..=5).collect::<Vec<_>>());
    assert!(before(1).await.is_empty());
    let (msgs, meta) = store.read("r", Range::After(3), 1).await.expect("read");
    let first = msgs[0].message().expect("a message");
    assert_eq!((first.seq, first.text.as_str()), (4, "m4"));
    assert_eq!((meta.head, meta.oldest), (25, 1));
    let (none, meta) = store
        .read("nobody-here", Range::After(0), 10)
        .await
        .expect("read");
    assert!(none.is_empty());
    assert_eq!((meta.head, meta.oldest), (0, 1));
}

async fn retention_keeps_the_newest_and_the_seq_carries_on(mut b: Backend) {
    b.settings.retention.messages = Some(5);
    let store = b.open();
    for i in 1..=12 {
        post(&store, "r", &format!("m{i}")).await;
    }
    assert_eq!(
        seqs(&store, "r", Range::After(0), 100).await,
        [8, 9, 10, 11, 12]
    );
    let meta = store.room("r").await.expect("meta");
    assert_eq!((meta.head, meta.oldest), (12, 8));
    assert_eq!(post(&store, "r", "m13").await.stored.seq(), 13);
    assert_eq!(
        seqs(&store, "r", Range::Before(100), 100).await,
        [9, 10, 11, 12, 13]
    );
}

async fn conversations_know_their_members(b: Backend) {
    let store = b.open();
    let room = format!("dm-{}", "0123456789abcdef".repeat(2));
    let mut m = message(&room, "ada", "psst", None);
    m.members = Some(("ada".into(), "bob".into()));
    append(&store, m).await.expect("stored");
    post(&store, "general", "hello").await;
    post(&store, "general", "again").await;
    let members = store.members(&room).await.expect("members");
    assert_eq!(members, Some(("ada".to_owned(), "bob".to_owned())));
    assert_eq!(store.members("dm-unknown").await.expect("members"), None);
    for (user, with) in [("ada", "bob"), ("bob", "ada")] {
        let list = store.conversations(user, 10).await.expect("conversations");
        assert_eq!(list.len(), 1, "{user}'s conversations");
        assert_eq!(
            (list[0].room.as_str(), list[0].with.as_str()),
            (&*room, with)
        );
        assert_eq!(list[0].head, 1);
        assert!(list[0].ts > 0);
    }
    assert!(
        store
            .conversations("eve", 10)
            .await
            .expect("none")
            .is_empty()
    );
    let rooms = store.list(10).await.expect("list");
    assert_eq!(
        rooms,
        [("general".to_owned(), 2)],
        "rooms, not conversations"
    );
}

/// A page of a user's conversations is the most recent ones, newest first, cut by the store.
async fn a_page_of_conversations_is_the_most_recent(b: Backend) {
    let store = b.open();
    let rooms: Vec<String> = (1..=3)
        .map(|i| format!("dm-{}", format!("{i:x}").repeat(32)))
        .collect();
    let mut last_ts = 0;
    for room in rooms.iter().chain([&rooms[0]]) {
        // Each message in a later millisecond than the one before (the order is by time).
        let deadline = std::time::Instant::now() + WAIT;
        while store::now_ms() <= last_ts {
            assert!(std::time::Instant::now() < deadline, "the clock moves on");
            tokio::task::yield_now().await;
        }
        let mut m = message(room, "ada", "hi", None);
        m.members = Some(("ada".into(), "bob".into()));
        last_ts = append(&store, m).await.expect("stored").stored.entry.ts();
    }
    let page = store.conversations("ada", 2).await.expect("conversations");
    let got: Vec<&str> = page.iter().map(|c| c.room.as_str()).collect();
    assert_eq!(got, [&*rooms[0], &*rooms[2]], "newest first, two of three");
    assert_eq!(page[0].head, 2);
    let all = store.conversations("bob", 10).await.expect("conversations");
    assert_eq!(all.len(), 3);
}

/// Instantiates every promise for every backend.
macro_rules! contract {
    ($($promise:ident),* $(,)?) => {
        mod on_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $promise() {
                super::$promise(super::Backend::memory()).await;
            })*
        }
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $promise() {
                super::$promise(super::Backend::sqlite()).await;
            })*
        }
        mod on_redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $promise() {
                super::$promise(super::Backend::redis()).await;
            })*
        }
    };
}

contract!(
    seq_is_gap_free_under_concurrent_appends,
    a_burst_is_stored_in_the_order_sent_and_deduped_within_it,
    a_client_id_is_stored_once_within_the_window,
    a_durable_store_dedupes_across_a_reopen,
    epochs_name_the_life_of_a_room,
    reads_page_by_since_and_by_before,
    retention_keeps_the_newest_and_the_seq_carries_on,
    conversations_know_their_members,
    a_page_of_conversations_is_the_most_recent,
    changes_take_gap_free_seqs_and_fold_into_their_target,
    only_the_author_changes_and_a_deleted_message_is_gone,
    a_change_is_deduped_by_client_id_and_limits_hold,
    a_reply_to_a_reply_joins_the_root_thread,
    room_members_roles_bans_and_mutes_survive_a_reopen,
    moderation_entries_take_gap_free_seqs,
);

/// Redis only: the unordered set of conversations kept before the sorted index is moved into it
/// on the first read, in order, and then dropped (an upgrade loses no conversation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_conversations_kept_by_an_older_version_are_listed_after_the_upgrade() {
    let b = Backend::redis();
    let redis = b._redis.as_ref().expect("redis");
    let store = b.open();
    let room = format!("dm-{}", "ab".repeat(16));
    let mut m = message(&room, "ada", "from before the upgrade", None);
    m.members = Some(("ada".into(), "bob".into()));
    append(&store, m).await.expect("stored");
    // What an older version left: the set, and no sorted index.
    let (index, legacy) = ("banter:ucr:ada", "banter:uc:ada");
    let _: () = redis.cmd(redis::cmd("DEL").arg(index)).expect("DEL");
    let _: () = redis
        .cmd(redis::cmd("SADD").arg(legacy).arg(&room))
        .expect("SADD");
    let list = store.conversations("ada", 10).await.expect("conversations");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].room.as_str(), list[0].with.as_str()),
        (&*room, "bob")
    );
    assert!(list[0].ts > 0, "scored by its last message's time");
    let left: bool = redis.cmd(redis::cmd("EXISTS").arg(legacy)).expect("EXISTS");
    assert!(!left, "the old set is gone once moved");
    let again = store.conversations("ada", 10).await.expect("conversations");
    assert_eq!(again.len(), 1, "and read from the index from then on");
}

// --- v1.2: the message lifecycle ---

fn change_of(user: &str, target: u64, kind: ChangeKind, text: &str, emoji: &str) -> NewMessage {
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

async fn change(store: &Store, user: &str, target: u64, kind: ChangeKind, arg: &str) -> Appended {
    let (text, emoji) = match kind {
        ChangeKind::Edit => (arg, ""),
        _ => ("", arg),
    };
    append(store, change_of(user, target, kind, text, emoji))
        .await
        .expect("stored")
}

async fn refused(store: &Store, user: &str, target: u64, kind: ChangeKind, arg: &str) -> Refusal {
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
async fn state(store: &Store) -> (Vec<ChatMessage>, Vec<Change>) {
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

async fn changes_take_gap_free_seqs_and_fold_into_their_target(b: Backend) {
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

async fn only_the_author_changes_and_a_deleted_message_is_gone(b: Backend) {
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

async fn a_change_is_deduped_by_client_id_and_limits_hold(b: Backend) {
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

async fn a_reply_to_a_reply_joins_the_root_thread(b: Backend) {
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
    let (thread, _) = store.thread("r", 1, 10).await.expect("thread");
    let (root, replies) = thread.expect("the root is held");
    assert_eq!(root.replies, Some(2));
    let seqs: Vec<u64> = replies.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [2, 3]);
}

// --- v1.2: private rooms and moderation ---

fn standing(role: Option<RoomRole>, muted: bool, banned: bool) -> store::Standing {
    store::Standing {
        role,
        muted,
        banned,
    }
}

async fn room_members_roles_bans_and_mutes_survive_a_reopen(b: Backend) {
    let store = b.open();
    assert!(store.create_room("ops", true).await.expect("created"));
    assert!(
        !store.create_room("ops", false).await.expect("answered"),
        "once"
    );
    assert!(store.create_room("town", false).await.expect("created"));
    let owner = standing(Some(RoomRole::Owner), false, false);
    let muted = standing(Some(RoomRole::Member), true, false);
    let banned = standing(None, false, true);
    store.set_standing("ops", "ada", owner).await.expect("set");
    store.set_standing("ops", "bob", muted).await.expect("set");
    store.set_standing("ops", "cy", owner).await.expect("set");
    store
        .set_standing("ops", "cy", store::Standing::default())
        .await
        .expect("forgot");
    store
        .set_standing("town", "eve", banned)
        .await
        .expect("set");
    let store = if b.durable { b.reopen(store) } else { store };
    let ops = store.access("ops").await.expect("read");
    assert!(ops.private && ops.created);
    assert_eq!(ops.users.get("ada"), Some(&owner));
    assert_eq!(ops.users.get("bob"), Some(&muted));
    assert_eq!(ops.users.get("cy"), None, "the default standing forgets");
    let town = store.access("town").await.expect("read");
    assert!(!town.private && town.created);
    assert_eq!(town.users.get("eve"), Some(&banned));
    let never = store.access("never").await.expect("read");
    assert!(!never.private && !never.created && never.users.is_empty());
    let mut hidden = store.hidden_from("eve").await.expect("read");
    hidden.sort();
    assert_eq!(hidden, ["ops", "town"]);
    assert!(store.hidden_from("bob").await.expect("read").is_empty());
    assert_eq!(store.private_rooms_of("bob").await.expect("read"), ["ops"]);
    assert!(
        store
            .private_rooms_of("eve")
            .await
            .expect("read")
            .is_empty()
    );
}

fn moderation(user: &str, kind: ChangeKind, subject: &str) -> NewMessage {
    let mut m = change_of(user, 0, kind, subject, "");
    if let Some(c) = &mut m.change {
        c.moderator = true;
    }
    m
}

async fn moderation_entries_take_gap_free_seqs(b: Backend) {
    let store = b.open();
    let mut waits = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        waits.push(tokio::spawn(async move {
            let m = if i % 2 == 0 {
                message("r", "ada", &format!("m{i}"), None)
            } else {
                moderation("ada", ChangeKind::Mute, &format!("u{i}"))
            };
            append(&s, m).await.expect("stored").stored.seq()
        }));
    }
    let mut got = Vec::new();
    for w in waits {
        got.push(w.await.expect("joined"));
    }
    got.sort_unstable();
    assert_eq!(got, (1..=20).collect::<Vec<u64>>(), "gap-free, each once");
    let (msgs, changes) = state(&store).await;
    assert_eq!((msgs.len(), changes.len()), (10, 10));
    for c in &changes {
        assert_eq!(
            (c.kind, c.target, c.user.as_str()),
            (ChangeKind::Mute, 0, "ada")
        );
        assert!(
            c.text.as_deref().is_some_and(|t| t.starts_with('u')),
            "{c:?}"
        );
    }
    let store = if b.durable { b.reopen(store) } else { store };
    let next = append(&store, moderation("ada", ChangeKind::Ban, "eve"))
        .await
        .expect("stored");
    let Entry::Change(c) = &next.stored.entry else {
        panic!("a change entry")
    };
    if b.durable {
        assert_eq!(c.seq, 21);
    }
    assert_eq!((c.kind, c.text.as_deref()), (ChangeKind::Ban, Some("eve")));
}
