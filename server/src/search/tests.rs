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
    let q = query::parse(q, 256, 16).unwrap();
    let page = Page {
        offset: 0,
        limit: 10,
        now: 2,
    };
    find::run(conn, &q, &Reader::default(), &page)
        .unwrap()
        .iter()
        .map(|h| h.seq)
        .collect()
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
