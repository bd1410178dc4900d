//! Files (v1.2, issue 19) over the real binary and real sockets: uploads within
//! `--max-file-bytes` and the quota, who may upload and read, ranges and caching, the headers
//! that keep an upload from running script in Banter's origin (HTML, SVG, PNG), images sized
//! with a decompression bomb refused and EXIF location stripped, and messages carrying files:
//! replayed after a resume, in pages, and removed with their message (bytes gone from the data
//! directory) or by retention. `files_quota.rs`: the quota given back, and freed by its window.

mod common;
#[path = "files_support.rs"]
mod support;

use banter_protocol::{ClientMsg, ServerMsg};
use common::process::start;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_with_413_and_nothing_kept() {
    let server = start(&["--max-file-bytes", "1000"]).await;
    let (status, body) = upload(
        &server,
        "lobby",
        "ada",
        "big.bin",
        "application/zip",
        vec![7; 2000],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "too_large");
    // Without a content-length, the body is cut off as it streams.
    let status = upload_streamed(&server, "lobby", "ada", vec![7; 5000]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = upload(
        &server,
        "lobby",
        "ada",
        "ok.bin",
        "application/zip",
        vec![7; 1000],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        stored_files(&server),
        1,
        "only the upload within the limit is kept"
    );
}

#[tokio::test]
async fn the_quota_refuses_more_than_a_user_may_upload_in_the_window() {
    let server = start(&["--file-quota-bytes", "3000", "--file-quota-window", "1h"]).await;
    let (status, _) = upload(
        &server,
        "lobby",
        "ada",
        "a.txt",
        "text/plain",
        vec![b'a'; 2000],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let res = upload_raw(
        &server,
        "lobby",
        "ada",
        "b.txt",
        "text/plain",
        vec![b'b'; 2000],
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // Another user has their own quota.
    let (status, _) = upload(
        &server,
        "lobby",
        "bob",
        "c.txt",
        "text/plain",
        vec![b'c'; 2000],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn only_who_may_post_uploads_and_only_the_rooms_readers_download() {
    const SECRET: &str = "files-test-secret-0123456789abcdef0123";
    let server = start(&["--auth", "token", "--auth-secret", SECRET]).await;
    let ada = sign(SECRET, "ada", Some(&["lobby"]));
    let eve = sign(SECRET, "eve", Some(&["elsewhere"]));
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/rooms/lobby/files?name=n.txt", server.addr());
    let res = http.post(&url).body("x").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no token");
    let res = http
        .post(&url)
        .bearer_auth(&eve)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "a room outside the token's"
    );
    let res = http
        .post(&url)
        .bearer_auth(&ada)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = format!("http://{}/api/files/{id}", server.addr());
    let res = http.get(&file).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = http.get(&file).bearer_auth(&eve).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "not a reader of its room: not told it exists"
    );
    let res = http.get(&file).bearer_auth(&ada).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "hello");
    // A conversation's files are its members' only.
    let dm = banter_server::hub::conversations::id("ada", "bob");
    let ada_any = sign(SECRET, "ada", None);
    let eve_any = sign(SECRET, "eve", None);
    let bob = sign(SECRET, "bob", None);
    // Ada opens the conversation with a first message.
    let mut ada_ws = Client::connect_raw(&server.ws_url()).await;
    ada_ws.recv().await;
    ada_ws
        .send(&ClientMsg::Auth {
            token: ada_any.clone(),
        })
        .await;
    ada_ws
        .recv_until(|m| matches!(m, ServerMsg::Authenticated { .. }))
        .await;
    ada_ws.direct("bob", "hi bob", Some("d1")).await;
    let dm_url = format!("http://{}/api/rooms/{dm}/files?name=n.txt", server.addr());
    let res = http
        .post(&dm_url)
        .bearer_auth(&eve_any)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "not a member of the conversation"
    );
    let res = http
        .post(&dm_url)
        .bearer_auth(&bob)
        .body("for ada")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = format!("http://{}/api/files/{id}", server.addr());
    assert_eq!(
        http.get(&file)
            .bearer_auth(&eve_any)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        http.get(&file)
            .bearer_auth(&ada_any)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn ranges_and_caching() {
    let server = start(&[]).await;
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "data.bin",
        "application/octet-stream",
        bytes.clone(),
    )
    .await;
    let id = info["id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/files/{id}", server.addr());
    let get = |range: &'static str| http.get(&url).header("range", range).send();
    let res = get("bytes=10-19").await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&res, "content-range"), "bytes 10-19/1000");
    assert_eq!(res.bytes().await.unwrap(), bytes[10..20]);
    let res = get("bytes=990-").await.unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap(), bytes[990..]);
    let res = get("bytes=-5").await.unwrap();
    assert_eq!(header(&res, "content-range"), "bytes 995-999/1000");
    assert_eq!(res.bytes().await.unwrap(), bytes[995..]);
    let res = get("bytes=5000-").await.unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&res, "content-range"), "bytes */1000");
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "accept-ranges"), "bytes");
    let etag = header(&res, "etag");
    assert_eq!(
        etag,
        format!("\"{}\"", sha256_hex(&bytes)),
        "the ETag is the SHA-256"
    );
    assert_eq!(
        header(&res, "cache-control"),
        "private, max-age=31536000, immutable"
    );
    assert_eq!(res.bytes().await.unwrap(), bytes);
    let res = http
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn html_and_svg_are_downloaded_and_a_png_shown_all_sandboxed() {
    let server = start(&[]).await;
    let html = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec();
    let cases = [
        (
            "page.html",
            "text/html",
            html.clone(),
            "text/html",
            "attachment",
        ),
        (
            "logo.svg",
            "image/svg+xml",
            svg,
            "image/svg+xml",
            "attachment",
        ),
        ("shot.png", "image/png", png(40, 30), "image/png", "inline"),
        // HTML bytes declared as a PNG: kept as bytes to download, never shown.
        (
            "fake.png",
            "image/png",
            html,
            "application/octet-stream",
            "attachment",
        ),
    ];
    for (name, declared, bytes, kept, disposition) in cases {
        let (status, info) = upload(&server, "lobby", "ada", name, declared, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{info}");
        assert_eq!(info["type"], kept, "{name}");
        let res = fetch(&server, info["id"].as_str().unwrap(), "").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{name}");
        assert_eq!(header(&res, "content-security-policy"), "sandbox", "{name}");
        assert_eq!(header(&res, "content-type"), kept, "{name}");
        let d = header(&res, "content-disposition");
        assert!(d.starts_with(disposition), "{name}: {d}");
        assert!(d.contains(name), "{name}: {d}");
    }
}

#[tokio::test]
async fn an_image_is_sized_and_thumbnailed_and_a_decompression_bomb_refused() {
    let server = start(&["--max-image-pixels", "1000000"]).await;
    let (status, info) = upload(
        &server,
        "lobby",
        "ada",
        "wide.png",
        "image/png",
        png(800, 200),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(800), Some(200))
    );
    let res = fetch(&server, info["id"].as_str().unwrap(), "/thumb").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-type"), "image/png");
    let thumb = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 80));
    // A few hundred bytes that claim 100000×100000 pixels.
    let bomb = png_header_only(100_000, 100_000);
    assert!(bomb.len() < 1000);
    let (status, body) = upload(&server, "lobby", "ada", "bomb.png", "image/png", bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-image-pixels")
    );
    // Within the pixel count, but 8 bytes a pixel decoded: over the memory a decode may take.
    let deep = png16_zeros(1000, 1000);
    let (status, body) = upload(&server, "lobby", "ada", "deep.png", "image/png", deep).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // A text file has no thumbnail.
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "a.txt",
        "text/plain",
        b"hi".to_vec(),
    )
    .await;
    let res = fetch(&server, info["id"].as_str().unwrap(), "/thumb").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exif_gps_is_stripped_from_what_is_served() {
    let server = start(&[]).await;
    let jpeg = jpeg_with_gps(64, 48);
    assert!(
        contains(&jpeg, GPS_MARK),
        "the test image carries a GPS position"
    );
    let (status, info) = upload(&server, "lobby", "ada", "photo.jpg", "image/jpeg", jpeg).await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(64), Some(48))
    );
    let res = fetch(&server, info["id"].as_str().unwrap(), "").await;
    let served = res.bytes().await.unwrap().to_vec();
    assert!(!contains(&served, GPS_MARK), "the GPS position is gone");
    assert!(!contains(&served, b"Exif\0\0"), "the EXIF segment is gone");
    assert_eq!(info["size"].as_u64(), Some(served.len() as u64));
    let img = image::load_from_memory(&served).expect("still a JPEG");
    assert_eq!((img.width(), img.height()), (64, 48));
    // And nothing on disk holds it either.
    for f in walk(&server.data_dir().unwrap().join("files")) {
        assert!(
            !contains(&std::fs::read(&f).unwrap(), GPS_MARK),
            "{}",
            f.display()
        );
    }
}

/// A phone's portrait photo (landscape pixels, EXIF orientation 6, a GPS position): what is
/// served keeps the orientation alone, so it still shows upright; its size is said as shown,
/// and its thumbnail is upright.
#[tokio::test]
async fn a_turned_photo_keeps_its_orientation_and_loses_its_position() {
    let server = start(&[]).await;
    let jpeg = jpeg_turned_with_gps(200, 100);
    assert!(contains(&jpeg, GPS_MARK));
    let (status, info) = upload(&server, "lobby", "ada", "portrait.jpg", "image/jpeg", jpeg).await;
    assert_eq!(status, StatusCode::CREATED, "{info}");
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(100), Some(200)),
        "as shown: upright"
    );
    let id = info["id"].as_str().unwrap();
    let served = fetch(&server, id, "").await.bytes().await.unwrap().to_vec();
    assert!(!contains(&served, GPS_MARK), "the GPS position is gone");
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(&served))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    use image::ImageDecoder as _;
    assert_eq!(
        decoder.orientation().unwrap(),
        image::metadata::Orientation::Rotate90,
        "the orientation is kept"
    );
    let res = fetch(&server, id, "/thumb").await;
    let thumb = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (thumb.width(), thumb.height()),
        (160, 320),
        "an upright thumbnail"
    );
}

#[tokio::test]
async fn gps_metadata_is_stripped_from_png_and_webp_too() {
    let server = start(&[]).await;
    let cases = [
        ("map.png", "image/png", png_with_gps(20, 10)),
        ("map.webp", "image/webp", webp_with_gps(20, 10)),
    ];
    for (name, declared, bytes) in cases {
        assert!(contains(&bytes, GPS_MARK), "{name} carries a GPS position");
        let (status, info) = upload(&server, "lobby", "ada", name, declared, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {info}");
        assert_eq!(info["type"], declared);
        let served = fetch(&server, info["id"].as_str().unwrap(), "")
            .await
            .bytes()
            .await
            .unwrap();
        assert!(
            !contains(&served, GPS_MARK),
            "{name}: the GPS position is gone"
        );
        let img = image::load_from_memory(&served).expect(name);
        assert_eq!((img.width(), img.height()), (20, 10), "{name}");
    }
}

#[tokio::test]
async fn a_message_with_files_is_replayed_after_a_resume_and_in_pages() {
    let server = start(&[]).await;
    let (_, shot) = upload(
        &server,
        "lobby",
        "ada",
        "shot.png",
        "image/png",
        png(10, 10),
    )
    .await;
    let (_, other) = upload(
        &server,
        "elsewhere",
        "ada",
        "x.txt",
        "text/plain",
        b"x".to_vec(),
    )
    .await;
    let id = shot["id"].as_str().unwrap().to_owned();
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    let send = |files: Vec<String>, cid: &str| ClientMsg::Send {
        room: "lobby".into(),
        text: String::new(),
        client_id: Some(cid.into()),
        reply_to: None,
        files,
    };
    // Another room's file is refused.
    let refused = ada
        .ask(send(vec![other["id"].as_str().unwrap().into()], "c0"))
        .await;
    assert_eq!(refused, Err(banter_protocol::ErrorCode::BadRequest));
    let seq = ada.ask(send(vec![id.clone()], "c1")).await.expect("stored");
    // Resume from before it: the replay carries the file object.
    let mut again = Client::connect(&server).await;
    again
        .send(&ClientMsg::Join {
            room: "lobby".into(),
            name: "ada".into(),
            since: Some(0),
            epoch: None,
            with: None,
        })
        .await;
    let m = match again
        .recv_until(|m| message(m).is_some_and(|m| m.seq == seq))
        .await
    {
        ServerMsg::Message(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].id, id);
    assert_eq!(m.files[0].name, "shot.png");
    assert_eq!((m.files[0].width, m.files[0].height), (Some(10), Some(10)));
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages").await;
    assert_eq!(page["messages"][0]["files"][0]["id"], id.as_str());
    // Over HTTP too.
    let (status, posted) = post(
        &server,
        "lobby",
        json!({"user": "bob", "text": "same file", "files": [id]}),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["files"][0]["type"], "image/png");
}

#[tokio::test]
async fn deleting_the_last_message_using_a_file_removes_it() {
    let server = start(&[]).await;
    let bytes = b"remove me".to_vec();
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "a.txt",
        "text/plain",
        bytes.clone(),
    )
    .await;
    let id = info["id"].as_str().unwrap().to_owned();
    let (_, first) = post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "one", "files": [id]}),
    )
    .await;
    let (_, second) = post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "two", "files": [id]}),
    )
    .await;
    let on_disk = server
        .data_dir()
        .unwrap()
        .join("files")
        .join(&sha256_hex(&bytes)[..2])
        .join(sha256_hex(&bytes));
    assert!(on_disk.exists());
    delete(&server, "lobby", first["seq"].as_u64().unwrap(), "ada").await;
    delete(&server, "lobby", second["seq"].as_u64().unwrap(), "ada").await;
    banter_testkit::retry("the file is removed", || {
        let (s, id) = (&server, id.clone());
        async move { (fetch(s, &id, "").await.status() == StatusCode::NOT_FOUND).then_some(()) }
    })
    .await;
    banter_testkit::retry("its bytes are gone from the data directory", || {
        let gone = !on_disk.exists();
        async move { gone.then_some(()) }
    })
    .await;
    let (_, page) = get_json(&server, "/api/rooms/lobby/messages").await;
    assert!(
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("files").is_none())
    );
}

#[tokio::test]
async fn a_websocket_delete_removes_the_file_of_a_websocket_send() {
    let server = start(&[]).await;
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "a.txt",
        "text/plain",
        b"ws".to_vec(),
    )
    .await;
    let id = info["id"].as_str().unwrap().to_owned();
    let mut ada = Client::connect(&server).await;
    ada.join("lobby", "ada").await;
    let send = ClientMsg::Send {
        room: "lobby".into(),
        text: "see attached".into(),
        client_id: Some("w1".into()),
        reply_to: None,
        files: vec![id.clone()],
    };
    let seq = ada.ask(send).await.expect("stored");
    let delete = ClientMsg::Delete {
        room: "lobby".into(),
        seq,
        client_id: Some("w2".into()),
    };
    ada.ask(delete).await.expect("deleted");
    banter_testkit::retry("the file is removed", || {
        let (s, id) = (&server, id.clone());
        async move { (fetch(s, &id, "").await.status() == StatusCode::NOT_FOUND).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_file_still_used_by_another_message_survives_a_deletion() {
    let server = start(&[]).await;
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "a.txt",
        "text/plain",
        b"keep".to_vec(),
    )
    .await;
    let id = info["id"].as_str().unwrap().to_owned();
    let (_, first) = post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "one", "files": [id]}),
    )
    .await;
    let (_, _second) = post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "two", "files": [id]}),
    )
    .await;
    delete(&server, "lobby", first["seq"].as_u64().unwrap(), "ada").await;
    // A later deletion of a message with its own file is done after the first (in order): once
    // that file is gone, the first deletion has been applied.
    let (_, marker) = upload(
        &server,
        "lobby",
        "ada",
        "m.txt",
        "text/plain",
        b"marker".to_vec(),
    )
    .await;
    let mid = marker["id"].as_str().unwrap().to_owned();
    let (_, third) = post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "three", "files": [mid]}),
    )
    .await;
    delete(&server, "lobby", third["seq"].as_u64().unwrap(), "ada").await;
    banter_testkit::retry("the marker file is removed", || {
        let (s, mid) = (&server, mid.clone());
        async move { (fetch(s, &mid, "").await.status() == StatusCode::NOT_FOUND).then_some(()) }
    })
    .await;
    assert_eq!(fetch(&server, &id, "").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn retention_removes_files_with_their_messages() {
    let server = start(&["--retain-messages", "1", "--file-sweep", "50ms"]).await;
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "a.txt",
        "text/plain",
        b"old".to_vec(),
    )
    .await;
    let id = info["id"].as_str().unwrap().to_owned();
    post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "old", "files": [id]}),
    )
    .await;
    for i in 0..3 {
        post(
            &server,
            "lobby",
            json!({"user": "ada", "text": format!("new {i}")}),
        )
        .await;
    }
    banter_testkit::retry("retention removes the file", || {
        let (s, id) = (&server, id.clone());
        async move { (fetch(s, &id, "").await.status() == StatusCode::NOT_FOUND).then_some(()) }
    })
    .await;
    banter_testkit::retry("its bytes are gone", || {
        let gone = stored_files(&server) == 0;
        async move { gone.then_some(()) }
    })
    .await;
}

/// A message's files are recorded as its uses after it is stored, off the store's thread: a
/// `kill -9` in between (or a full queue) loses that record. The sweep must then find the
/// message that carries the upload before it removes it as unused: the file of a message that
/// still exists stays, and its use is recorded again; an upload no message carries goes.
#[tokio::test]
async fn an_upload_whose_use_was_lost_is_kept_while_its_message_exists() {
    let mut server = start(&["--file-sweep", "50ms", "--file-unused-ttl", "300ms"]).await;
    // Messages older than the upload: the sweep must look past them, newest first.
    for i in 0..3 {
        let text = format!("before {i}");
        post(&server, "lobby", json!({"user": "bob", "text": text})).await;
    }
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "kept.txt",
        "text/plain",
        b"kept".to_vec(),
    )
    .await;
    let kept = info["id"].as_str().unwrap().to_owned();
    post(
        &server,
        "lobby",
        json!({"user": "ada", "text": "see attached", "files": [kept]}),
    )
    .await;
    let db = server.data_dir().unwrap().join("banter.db");
    // The message's own use (seq 4), not the claim made before it was stored (seq 0).
    let used_by_4 = |db: &std::path::Path| -> bool {
        let c = rusqlite::Connection::open(db).expect("the data directory's database");
        let n: i64 = c
            .query_row("SELECT count(*) FROM file_uses WHERE seq = 4", [], |r| {
                r.get(0)
            })
            .expect("file_uses");
        n == 1
    };
    banter_testkit::retry("the use is recorded", || {
        let done = used_by_4(&db);
        async move { done.then_some(()) }
    })
    .await;
    server.kill9();
    {
        // What a kill -9 between the commit and the record leaves: only the claim. (And the
        // messages before the upload made an hour older, so that reading them first would
        // stop the look before the message that carries the file.)
        let c = rusqlite::Connection::open(&db).expect("the data directory's database");
        c.execute_batch(
            "UPDATE messages SET ts = ts - 3600000 WHERE seq <= 3;
             DELETE FROM file_uses;
             INSERT INTO file_uses (room, seq, id) SELECT room, 0, id FROM files;
             UPDATE files SET record = json_set(record, '$.refs', json('[0]'));",
        )
        .expect("the use forgotten");
    }
    server.restart().await.expect("restarted");
    let (_, info) = upload(
        &server,
        "lobby",
        "ada",
        "gone.txt",
        "text/plain",
        b"gone".to_vec(),
    )
    .await;
    let unused = info["id"].as_str().unwrap().to_owned();
    banter_testkit::retry("the sweep removes the upload no message carries", || {
        let (s, id) = (&server, unused.clone());
        async move { (fetch(s, &id, "").await.status() == StatusCode::NOT_FOUND).then_some(()) }
    })
    .await;
    banter_testkit::retry("and records the lost use again", || {
        let done = used_by_4(&db);
        async move { done.then_some(()) }
    })
    .await;
    let res = fetch(&server, &kept, "").await;
    assert_eq!(res.status(), StatusCode::OK, "the message's file is kept");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"kept");
}
