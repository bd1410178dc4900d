//! The index's own rules, on a real file: edits re-index, deletions leave no trace in the file,
//! a new epoch forgets the old life, change entries map to index entries.

use banter_protocol::{Change, ChangeKind};
use rusqlite::Connection;

use super::find::{self, Page, Reader};
use super::indexer::{Entry, apply, change};
use super::text::Doc;
use super::{index, query};

fn doc(seq: u64, text: &str) -> Entry {
    Entry::Message(Doc {
        room: "r".into(),
        seq,
        user: "ann".into(),
        ts: 1,
        text: text.into(),
        members: None,
    })
}

fn find(conn: &Connection, q: &str) -> Vec<u64> {
    let page = Page {
        offset: 0,
        limit: 10,
        now: 2,
        upto: i64::MAX,
        window: 100,
    };
    hits(conn, q, &page)
        .into_iter()
        .map(|(_, seq)| seq)
        .collect()
}

/// The (room, seq) of the hits of `q` on `page`, in order.
fn hits(conn: &Connection, q: &str, page: &Page) -> Vec<(String, u64)> {
    let q = query::parse(q, 256, 16).unwrap();
    find::run(conn, &q, &Reader::default(), page)
        .unwrap()
        .into_iter()
        .map(|h| (h.room, h.seq))
        .collect()
}

/// Message `seq` of `room`, sent at `ts`.
fn at(room: &str, seq: u64, ts: u64, text: &str) -> Entry {
    Entry::Message(Doc {
        room: room.into(),
        seq,
        user: "ann".into(),
        ts,
        text: text.into(),
        members: None,
    })
}

#[test]
fn a_broad_query_ranks_the_newest_matches_whatever_order_rooms_were_indexed_in() {
    let dir = tempfile::tempdir().unwrap();
    let conn = index::open_writer(&dir.path().join("search.db")).unwrap();
    // As a rebuild goes, room by room: the newer room first, then the older one, whose
    // messages are more relevant (the word twice) but a year older.
    let year = 365 * 86_400_000;
    // (Other messages, so that the word is not in every one: `bm25` gives a word in all none.)
    apply(
        &conn,
        "x",
        1,
        (1..=30).map(|s| at("x", s, s, "other things")),
    )
    .unwrap();
    apply(
        &conn,
        "new",
        1,
        (1..=5).map(|s| at("new", s, year + s, "common word")),
    )
    .unwrap();
    apply(
        &conn,
        "old",
        1,
        (1..=5).map(|s| at("old", s, s, "common common word")),
    )
    .unwrap();
    // A window of 3 (a page of 2 and one more): the 3 newest matches are ranked, the newest
    // first at equal relevance; the older room's are past the window.
    let page = Page {
        offset: 0,
        limit: 2,
        now: year + 10,
        upto: i64::MAX,
        window: 3,
    };
    let new = |s: u64| ("new".to_owned(), s);
    assert_eq!(hits(&conn, "common", &page), [new(5), new(4), new(3)]);
    // With every match in the window all are ranked: the newer room's first (a message of
    // today weighs twice a year-old one), then the older room's.
    let all = Page {
        window: 100,
        limit: 10,
        ..page
    };
    let rooms: Vec<String> = hits(&conn, "common", &all)
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(rooms, [["new"; 5], ["old"; 5]].concat());
}

#[test]
fn later_pages_rank_what_the_first_page_saw() {
    let dir = tempfile::tempdir().unwrap();
    let conn = index::open_writer(&dir.path().join("search.db")).unwrap();
    apply(
        &conn,
        "r",
        1,
        (1..=3).map(|s| at("r", s, s, "status report")),
    )
    .unwrap();
    let upto: i64 = conn
        .query_row("SELECT max(id) FROM docs", [], |r| r.get(0))
        .unwrap();
    apply(
        &conn,
        "r",
        1,
        (4..=5).map(|s| at("r", s, s, "status report")),
    )
    .unwrap();
    let page = Page {
        offset: 1,
        limit: 10,
        now: 10,
        upto,
        window: 100,
    };
    let seqs: Vec<u64> = hits(&conn, "report", &page)
        .into_iter()
        .map(|h| h.1)
        .collect();
    assert_eq!(seqs, [2, 1]);
    // A substring through `grams` too, and filters alone, newest first.
    let seqs: Vec<u64> = hits(&conn, "tatu", &page)
        .into_iter()
        .map(|h| h.1)
        .collect();
    assert_eq!(seqs, [2, 1]);
    let seqs: Vec<u64> = hits(&conn, "from:ann", &page)
        .into_iter()
        .map(|h| h.1)
        .collect();
    assert_eq!(seqs, [2, 1]);
}

/// Every byte of the index's files.
fn file_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        all.extend(std::fs::read(&p).unwrap_or_default());
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_edit_reindexes_and_a_deletion_leaves_no_trace_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search.db");
    let mut conn = index::open_writer(&path).unwrap();
    let entries = [
        doc(1, "zanzibarian codeword alpha"),
        doc(2, "quixotically phrased beta"),
        doc(3, "ordinary gamma"),
    ];
    let tx = conn.transaction().unwrap();
    apply(&tx, "r", 1, entries).unwrap();
    tx.commit().unwrap();
    assert_eq!(find(&conn, "zanzibarian"), [1]);

    let tx = conn.transaction().unwrap();
    let erased = apply(
        &tx,
        "r",
        1,
        [
            Entry::Edit {
                target: 2,
                text: "plainly phrased beta".into(),
            },
            Entry::Delete { target: 1 },
        ],
    )
    .unwrap();
    tx.commit().unwrap();
    assert!(erased);
    index::checkpoint(&conn);

    assert_eq!(find(&conn, "plainly"), [2]);
    assert!(find(&conn, "quixotically").is_empty());
    assert!(find(&conn, "zanzibarian").is_empty());
    assert!(find(&conn, "zanzib").is_empty());
    assert!(find(&conn, "anzibar").is_empty());
    let bytes = file_bytes(&path);
    assert!(
        !contains(&bytes, "zanzibarian"),
        "the deleted text is in the file"
    );
    assert!(
        !contains(&bytes, "quixotically"),
        "the edited-away text is in the file"
    );
    assert!(contains(&bytes, "ordinary"), "the file is readable as such");
}

#[test]
fn retention_and_a_new_epoch_forget_what_went() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = index::open_writer(&dir.path().join("search.db")).unwrap();
    let tx = conn.transaction().unwrap();
    apply(&tx, "r", 1, [doc(1, "old one"), doc(2, "new one")]).unwrap();
    tx.commit().unwrap();
    assert_eq!(find(&conn, "one").len(), 2);
    // Retention removed seq 1: the next batch of the room forgets it.
    let tx = conn.transaction().unwrap();
    assert!(apply(&tx, "r", 2, []).unwrap());
    tx.commit().unwrap();
    assert_eq!(find(&conn, "one"), [2]);
    index::clear_room(&conn, "r").unwrap();
    assert!(find(&conn, "one").is_empty());
}

#[test]
fn change_entries_map_to_index_entries() {
    let c = |kind, text: Option<&str>| Change {
        room: "r".into(),
        seq: 9,
        target: 4,
        user: "ann".into(),
        ts: 1,
        kind,
        text: text.map(Into::into),
        emoji: None,
    };
    assert_eq!(
        change(&c(ChangeKind::Edit, Some("new"))),
        Some(Entry::Edit {
            target: 4,
            text: "new".into()
        })
    );
    assert_eq!(
        change(&c(ChangeKind::Delete, None)),
        Some(Entry::Delete { target: 4 })
    );
    assert_eq!(change(&c(ChangeKind::React, None)), None);
}

#[test]
fn a_whole_word_ranks_before_words_it_begins_and_substrings_come_only_without_either() {
    let dir = tempfile::tempdir().unwrap();
    let conn = index::open_writer(&dir.path().join("search.db")).unwrap();
    // The newest first: "deployment" (the word begins with the query), then "redeploy" (only a
    // substring), then the oldest, "deploy" itself.
    apply(
        &conn,
        "r",
        1,
        [
            at("r", 1, 1, "we deploy today"),
            at("r", 2, 2, "we redeploy today"),
            at("r", 3, 3, "the deployment is done"),
        ],
    )
    .unwrap();
    // A query that finds words does not look inside words: no "redeploy".
    assert_eq!(find(&conn, "deploy"), [1, 3]);
    // Typed halfway: no whole word "deplo", so the words it begins (ranked together: the
    // shorter message first).
    assert_eq!(find(&conn, "deplo"), [1, 3]);
    // Quoted: the word alone.
    assert_eq!(find(&conn, "\"deploy\""), [1]);
    // No word holds it: substrings, newest first.
    assert_eq!(find(&conn, "eploy"), [3, 2, 1]);
    // Pages follow that one order: the second result alone is the second.
    let second = Page {
        offset: 1,
        limit: 1,
        now: 4,
        upto: i64::MAX,
        window: 100,
    };
    assert_eq!(hits(&conn, "deploy", &second), [("r".to_owned(), 3)]);
}

#[test]
fn a_substring_is_answered_from_the_trigram_index_not_by_reading_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let conn = index::open_writer(&dir.path().join("search.db")).unwrap();
    // FTS5 takes `LIKE` to its trigram index only with some tokenizer options (not with
    // `remove_diacritics`): its plan then names the constraint (`L0`), else it scans all.
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT rowid FROM grams WHERE text LIKE '%ploy%'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("L0"), "{plan}");
    apply(&conn, "r", 1, [doc(1, "we redeploy today")]).unwrap();
    assert_eq!(find(&conn, "eploy"), [1]);
}

#[test]
fn words_that_are_never_together_do_not_look_inside_words_unless_one_is_no_word() {
    let dir = tempfile::tempdir().unwrap();
    let conn = index::open_writer(&dir.path().join("search.db")).unwrap();
    apply(
        &conn,
        "r",
        1,
        [
            at("r", 1, 1, "budget approved"),
            at("r", 2, 2, "we redeploy today"),
            at("r", 3, 3, "deploy it"),
            at("r", 4, 4, "redeploy the budget"),
        ],
    )
    .unwrap();
    // "deploy" and "budget" are words, never in one message: nothing (not "redeploy the
    // budget", where "deploy" is only inside a word).
    assert_eq!(find(&conn, "deploy budget"), Vec::<u64>::new());
    // "eploy" is no word: substrings.
    assert_eq!(find(&conn, "eploy budget"), [4]);
}
