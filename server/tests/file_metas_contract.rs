//! The promises of [`FileMetas`] (v1.2 files' records), checked on every backend through the
//! same `store::files::open` the server uses: memory, SQLite (a real file) and Redis (a real
//! `redis-server`, two shards): a record round-trips, attaching and detaching keep the file's
//! `refs` and the message's uses, removal forgets it, `sha_used` counts records with the same
//! bytes, and `list` pages by id.

use banter_server::store::Settings;
use banter_server::store::files::{FileMetas, FileRecord, SharedFileMetas, open};
use banter_testkit::{Persistence, Redis};

fn record(id: &str, room: &str, sha: &str) -> FileRecord {
    FileRecord {
        id: id.into(),
        room: room.into(),
        name: format!("{id}.png"),
        size: 42,
        content_type: "image/png".into(),
        width: Some(4),
        height: Some(2),
        uploader: "ada".into(),
        sha256: sha.into(),
        created: 1_764_110_000_000,
        thumb: true,
        refs: Vec::new(),
    }
}

fn promises(m: &dyn FileMetas) {
    let a = record("01a", "lobby", "aaaa");
    let b = record("01b", "ops", "aaaa");
    let c = record("01c", "lobby", "cccc");
    for f in [&a, &b, &c] {
        m.put(f).unwrap();
    }
    assert_eq!(m.get("01a").unwrap(), Some(a.clone()));
    assert_eq!(m.get("nope").unwrap(), None);

    m.attach("lobby", "01a", 7).unwrap();
    m.attach("lobby", "01a", 9).unwrap();
    m.attach("lobby", "01a", 9).unwrap();
    m.attach("lobby", "01c", 9).unwrap();
    // Another room's message cannot attach it.
    m.attach("ops", "01a", 11).unwrap();
    assert_eq!(m.get("01a").unwrap().unwrap().refs, vec![7, 9]);
    let mut uses = m.uses("lobby", 9).unwrap();
    uses.sort();
    assert_eq!(uses, vec!["01a", "01c"]);
    assert!(m.uses("ops", 11).unwrap().is_empty());

    assert_eq!(m.detach("lobby", "01a", 7).unwrap(), Some(vec![9]));
    assert_eq!(m.detach("lobby", "01a", 9).unwrap(), Some(vec![]));
    assert_eq!(m.uses("lobby", 9).unwrap(), vec!["01c"]);
    assert_eq!(m.detach("lobby", "nope", 9).unwrap(), None);

    let ids: Vec<String> = m.list("", 2).unwrap().into_iter().map(|f| f.id).collect();
    assert_eq!(ids, vec!["01a", "01b"]);
    let ids: Vec<String> = m
        .list("01b", 10)
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, vec!["01c"]);

    assert!(m.sha_used("aaaa").unwrap());
    m.remove("lobby", "01a").unwrap();
    assert_eq!(m.get("01a").unwrap(), None);
    assert!(m.sha_used("aaaa").unwrap(), "01b has the same bytes");
    m.remove("ops", "01b").unwrap();
    assert!(!m.sha_used("aaaa").unwrap());
    assert!(m.sha_used("cccc").unwrap());
}

fn opened(settings: &Settings) -> SharedFileMetas {
    open(settings).expect("the file records open")
}

#[test]
fn memory() {
    let dir = tempfile::tempdir().unwrap();
    promises(&*opened(&Settings::new("memory", dir.path().to_owned())));
}

#[test]
fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::new("sqlite", dir.path().to_owned());
    promises(&*opened(&settings));
    // Kept across a reopen.
    let again = opened(&settings);
    assert_eq!(again.get("01c").unwrap().unwrap().refs, vec![9]);
}

#[test]
fn redis_two_shards() {
    let (r1, r2) = (
        Redis::start(Persistence::Off),
        Redis::start(Persistence::Off),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::new("redis", dir.path().to_owned());
    settings.redis_url = Some(format!("{},{}", r1.url(), r2.url()));
    promises(&*opened(&settings));
}
