//! The schema 1 → 2 migration renames rooms named `dm-…` to `legacy-dm-…`; when a room of that
//! name exists already (`dm-x` and `legacy-dm-x` both present), the start must not stop on the
//! UNIQUE clash: the second gets `legacy-dm-x-2`, and both histories stay readable.

mod common;

use common::*;

/// Adds room `name` with one message `text` to the database in `dir`.
fn plant(db: &rusqlite::Connection, name: &str, text: &str) {
    db.execute(
        "INSERT INTO rooms (name, head) VALUES (?1, 1)",
        rusqlite::params![name],
    )
    .expect("room");
    db.execute(
        "INSERT INTO messages (room_id, seq, id, user, text, ts)
         VALUES (last_insert_rowid(), 1, ?1, 'ada', ?1, 1)",
        rusqlite::params![text],
    )
    .expect("message");
}

#[tokio::test]
async fn a_legacy_name_already_taken_does_not_stop_the_start() {
    let data = tempfile::tempdir().expect("a data directory");
    let dir = data.path().to_owned();
    let mut server = start_server_with(|c| c.data_dir = dir.clone()).await;
    server.shutdown();
    let _ = (&mut server.handle).await;
    {
        let db = rusqlite::Connection::open(dir.join("banter.db")).expect("open");
        plant(&db, "dm-x", "written to dm-x");
        plant(&db, "legacy-dm-x", "written to legacy-dm-x");
        db.pragma_update(None, "user_version", 1).expect("version");
    }
    let server = start_server_with(|c| c.data_dir = dir.clone()).await;
    // The server started and answers.
    assert_eq!(room_names(&server).await, ["legacy-dm-x", "legacy-dm-x-2"]);
    for (room, text) in [
        ("legacy-dm-x", "written to legacy-dm-x"),
        ("legacy-dm-x-2", "written to dm-x"),
    ] {
        let (_, page) = get_json(&server, &format!("/api/rooms/{room}/messages")).await;
        assert_eq!(page["messages"][0]["text"], text, "{room}");
    }
}
