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
//! Issue 17: a user's room list keeps its order, each room once.

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

mod lifecycle;
mod users;

use lifecycle::*;
use users::*;

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
    push_keys_subscriptions_and_settings_are_kept,
    room_members_roles_bans_and_mutes_survive_a_reopen,
    moderation_entries_take_gap_free_seqs,
    a_room_list_keeps_its_order_and_each_room_once,
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

/// Redis only: a dedupe key an older version kept (one string key with PX, before the keys of a
/// window were kept in one hash) still makes a re-send a duplicate after the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dedupe_keys_kept_by_an_older_version_still_dedupe() {
    let b = Backend::redis();
    let redis = b._redis.as_ref().expect("redis");
    let store = b.open();
    let first = append(&store, message("r", "ada", "hi", Some("c1")))
        .await
        .expect("stored");
    // What an older version left: the string key, and no bucket.
    let buckets: Vec<String> = redis
        .cmd(redis::cmd("KEYS").arg("banter:r:{r}:ddb:*"))
        .expect("KEYS");
    assert_eq!(
        buckets.len(),
        1,
        "the key is in its window's hash: {buckets:?}"
    );
    let _: () = redis.cmd(redis::cmd("DEL").arg(&buckets[0])).expect("DEL");
    let legacy = format!("banter:r:{{r}}:dd:{}", store::dedupe_key("ada", "c1"));
    let _: () = redis
        .cmd(redis::cmd("SET").arg(&legacy).arg(1).arg("PX").arg(60_000))
        .expect("SET");
    let again = append(&store, message("r", "ada", "hi again", Some("c1")))
        .await
        .expect("answered");
    assert!(again.duplicate, "found by the old key");
    assert_eq!(again.stored.entry, first.stored.entry);
    assert_eq!(seqs(&store, "r", Range::After(0), 10).await, [1]);
}

/// Redis only: a post that fails inside a script run (here an edit whose target's state cannot
/// be read) leaves the posts stored before it counted: the room's next post takes the next
/// `seq`, none is taken twice, and a re-send of one stored before the failure is a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_post_failing_inside_a_run_leaves_the_room_consistent() {
    let b = Backend::redis();
    let redis = b._redis.as_ref().expect("redis");
    let store = b.open();
    append(&store, message("r", "ada", "one", None))
        .await
        .expect("stored");
    let _: () = redis
        .cmd(
            redis::cmd("HSET")
                .arg("banter:r:{r}:fold")
                .arg(1)
                .arg("not json"),
        )
        .expect("HSET");
    // Queued together, so that they are likely one run: a post, then the failing edit.
    let (tx_a, rx_a) = tokio::sync::oneshot::channel();
    let (tx_b, rx_b) = tokio::sync::oneshot::channel();
    store.append(
        message("r", "ada", "two", Some("c2")),
        Box::new(move |r| {
            let _ = tx_a.send(r);
        }),
    );
    store.append(
        lifecycle::change_of("ada", 1, ChangeKind::Edit, "edited", ""),
        Box::new(move |r| {
            let _ = tx_b.send(r);
        }),
    );
    let _two = rx_a.await.expect("answered");
    let edit = rx_b.await.expect("answered");
    assert!(edit.is_err(), "the edit fails: {edit:?}");
    let _: () = redis
        .cmd(redis::cmd("HDEL").arg("banter:r:{r}:fold").arg(1))
        .expect("HDEL");
    // "two" was stored, in the failed run before the edit or in its own: a re-send is a
    // duplicate either way.
    let again = append(&store, message("r", "ada", "two", Some("c2")))
        .await
        .expect("answered");
    let three = append(&store, message("r", "ada", "three", None))
        .await
        .expect("the room takes posts");
    assert!(again.duplicate, "stored before the failure, and remembered");
    assert!(!three.duplicate);
    assert_eq!(seqs(&store, "r", Range::After(0), 10).await, [1, 2, 3]);
}
