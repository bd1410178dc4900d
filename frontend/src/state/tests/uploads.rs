//! v1.2 files in the composer: attached files upload at once and are listed per room with
//! their progress; a message goes with its room's stored files only once none is still
//! uploading or refused, may then have no text, and is re-sent after a reconnect with the same
//! files; the sentences and sizes the user reads.

use super::*;
use banter_protocol::FileInfo;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn info(id: &str) -> FileInfo {
    FileInfo {
        id: id.into(),
        name: format!("{id}.png"),
        size: 2048,
        content_type: "image/png".into(),
        width: Some(640),
        height: Some(480),
    }
}

/// The files of the `send` frames in `frames`, with their text.
fn sent_files(frames: &[ClientMsg]) -> Vec<(String, Vec<String>)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ClientMsg::Send { text, files, .. } => Some((text.clone(), files.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn attachments_are_listed_per_room_with_their_progress() {
    let mut a = Attachments::default();
    let shot = a.add("lobby", "shot.png", 1000);
    let notes = a.add("lobby", "notes.txt", 0);
    let other = a.add("ops", "log.txt", 10);
    a.progress(shot, 250);
    let lobby: Vec<_> = a.in_room("lobby").map(|x| (x.key, x.percent())).collect();
    assert_eq!(lobby, vec![(shot, 25), (notes, 0)]);
    assert_eq!(a.in_room("ops").count(), 1);
    assert!(a.done(shot, info("f1")));
    assert_eq!(
        a.in_room("lobby").next().map(Attachment::percent),
        Some(100)
    );
    // A cancelled upload is gone; its late answer finds nothing.
    assert!(a.remove(other).is_some());
    assert!(!a.done(other, info("late")));
    assert_eq!(a.in_room("ops").count(), 0);
}

#[test]
fn a_message_waits_for_its_rooms_uploads_and_refusals_are_removed_first() {
    let mut a = Attachments::default();
    let shot = a.add("lobby", "shot.png", 1000);
    let doc = a.add("lobby", "doc.pdf", 1000);
    a.add("ops", "elsewhere.txt", 5);
    let err = a.ready("lobby").expect_err("still uploading");
    assert!(err.contains("shot.png"), "{err}");
    assert!(a.uploading("lobby"));
    a.done(shot, info("f1"));
    a.failed(doc, upload_error("doc.pdf", 413, None));
    assert!(!a.uploading("lobby"), "a send pressed meanwhile may go now");
    let err = a.ready("lobby").expect_err("one was refused");
    assert!(err.contains("doc.pdf"), "{err}");
    a.remove(doc);
    assert_eq!(a.ready("lobby"), Ok(vec!["f1".to_string()]));
    a.sent("lobby");
    assert_eq!(a.in_room("lobby").count(), 0);
    assert_eq!(a.in_room("ops").count(), 1, "another room's upload stays");
    assert_eq!(a.ready("empty"), Ok(Vec::new()));
}

#[test]
fn a_send_with_files_may_have_no_text_and_goes_again_with_them_after_a_reconnect() {
    let mut s = online_with(&[1]);
    assert!(
        s.compose_files("   ", Vec::new()).is_err(),
        "no text, no files"
    );
    let out = s
        .compose_files("  ", vec!["f1".into(), "f2".into()])
        .expect("files alone");
    let first = sent_files(&out);
    assert_eq!(first, vec![(String::new(), vec!["f1".into(), "f2".into()])]);
    let pending: Vec<_> = s.pending().in_all().map(|p| p.files.clone()).collect();
    assert_eq!(pending, vec![vec!["f1".to_string(), "f2".to_string()]]);
    s.disconnected();
    s.handle(welcome());
    let again = s.handle(joined("lobby", 1));
    assert_eq!(sent_files(&again), first, "same text and files");
    assert_eq!(sends(&again), sends(&out), "same client_id");
}

#[test]
fn a_send_with_files_keeps_its_text_and_checks_it() {
    let mut s = online_with(&[1]);
    let out = s.compose_files(" look ", vec!["f1".into()]).expect("valid");
    assert_eq!(sent_files(&out), vec![("look".into(), vec!["f1".into()])]);
    let long = "x".repeat(s.limits.max_text_chars + 1);
    assert!(s.compose_files(&long, vec!["f2".into()]).is_err());
}

#[test]
fn upload_refusals_are_said_plainly() {
    assert!(upload_error("a.png", 413, None).contains("too large"));
    assert!(upload_error("a.png", 429, None).contains("uploaded too much"));
    assert!(upload_error("a.png", 403, Some("you are muted in #ops")).contains("muted"));
    assert!(upload_error("a.png", 403, None).contains("may not"));
    assert!(upload_error("a.png", 0, None).contains("could not be reached"));
}

#[test]
fn sizes_read_like_people_write_them() {
    assert_eq!(human_size(0), "0 B");
    assert_eq!(human_size(1023), "1023 B");
    assert_eq!(human_size(1536), "1.5 KB");
    assert_eq!(human_size(25 * 1024 * 1024), "25 MB");
    assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GB");
}

#[test]
fn previews_keep_the_images_proportions_inside_their_box() {
    assert_eq!(preview_box(Some(640), Some(480), 320, 240), (320, 240));
    assert_eq!(preview_box(Some(1000), Some(100), 320, 240), (320, 32));
    assert_eq!(preview_box(Some(100), Some(1000), 320, 240), (24, 240));
    assert_eq!(
        preview_box(Some(50), Some(40), 320, 240),
        (50, 40),
        "never enlarged"
    );
    assert_eq!(preview_box(None, None, 320, 240), (320, 240));
    assert!(is_inline_image("image/png"));
    assert!(!is_inline_image("image/svg+xml"), "SVG is downloaded");
}
