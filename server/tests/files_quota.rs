//! Each user's upload quota (`--file-quota-bytes` per `--file-quota-window`, v1.2 files) over
//! the real binary and real sockets, beyond `files.rs`'s refusal: what an upload refused on
//! the way (over `--max-file-bytes`, over the quota) or failed after it was received (an image
//! refused when it is decoded) had taken is given back, to the byte, so the user may upload it
//! again; and a full quota frees up once its window has passed, not before.

mod common;
#[path = "files_support.rs"]
mod support;

use std::time::{Duration, Instant};

use banter_testkit::retry;
use common::process::start;
use reqwest::StatusCode;
use support::*;

/// `n` bytes of `text/plain` (the user's initial, so each user's files differ) uploaded to
/// `lobby` as `user`: the status.
async fn text(server: &banter_testkit::Banter, user: &str, n: usize) -> StatusCode {
    let bytes = vec![user.as_bytes()[0]; n];
    upload(server, "lobby", user, "t.txt", "text/plain", bytes)
        .await
        .0
}

#[tokio::test]
async fn a_refused_or_failed_upload_gives_back_what_it_took() {
    let server = start(&[
        "--file-quota-bytes",
        "3000",
        "--file-quota-window",
        "1h",
        "--max-file-bytes",
        "2500",
    ])
    .await;

    // Over --max-file-bytes: 500-byte chunks, five taken (2500) before the sixth is refused.
    assert_eq!(
        upload_streamed(&server, "lobby", "bob", vec![1; 3000]).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(text(&server, "bob", 2500).await, StatusCode::CREATED);
    assert_eq!(
        text(&server, "bob", 501).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(text(&server, "bob", 500).await, StatusCode::CREATED);

    // Over the quota on the way: 2000 used, then a chunked 2000 takes two chunks (1000) before
    // the third is refused; those 1000 are given back.
    assert_eq!(text(&server, "ada", 2000).await, StatusCode::CREATED);
    assert_eq!(
        upload_streamed(&server, "lobby", "ada", vec![2; 2000]).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(text(&server, "ada", 1000).await, StatusCode::CREATED);
    assert_eq!(
        text(&server, "ada", 1).await,
        StatusCode::TOO_MANY_REQUESTS,
        "exactly the quota is used"
    );

    // Received whole, then refused: 2500 bytes of a PNG claiming 100000×100000 pixels.
    let mut bomb = png_header_only(100_000, 100_000);
    bomb.resize(2500, 0);
    let (status, body) = upload(&server, "lobby", "cy", "bomb.png", "image/png", bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(text(&server, "cy", 2500).await, StatusCode::CREATED);

    // Received whole, then failed: a real PNG cut short, whose pixels cannot be decoded.
    let mut cut = png(400, 400);
    assert!(cut.len() > 2500, "{}", cut.len());
    cut.truncate(2500);
    let (status, body) = upload(&server, "lobby", "dee", "cut.png", "image/png", cut).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(text(&server, "dee", 2500).await, StatusCode::CREATED);

    assert_eq!(
        stored_files(&server),
        6,
        "only the accepted uploads are kept"
    );
}

#[tokio::test]
async fn a_full_quota_frees_up_when_its_window_has_passed() {
    let window = Duration::from_secs(2);
    let server = start(&["--file-quota-bytes", "1000", "--file-quota-window", "2s"]).await;
    let began = Instant::now();
    assert_eq!(text(&server, "ada", 1000).await, StatusCode::CREATED);
    let res = upload_raw(
        &server,
        "lobby",
        "ada",
        "t.txt",
        "text/plain",
        vec![b'u'; 1000],
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(&res, "retry-after").parse().expect("retry-after");
    assert!(wait <= window.as_secs(), "retry-after {wait}");

    // As a client does: try again until accepted; a refused try takes nothing.
    retry("the quota's window has passed", || async {
        (text(&server, "ada", 1000).await == StatusCode::CREATED).then_some(())
    })
    .await;
    let after = began.elapsed();
    assert!(
        after >= window,
        "accepted after {after:?}, within the window"
    );
    assert_eq!(
        text(&server, "ada", 1).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the new window is full again"
    );
}
