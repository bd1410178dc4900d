//! The HTTP answers as the server writes them (the protocol's types through serde_json), parsed
//! by the browser's `JSON.parse` and read back: the same values. Runs in headless Chrome
//! (`cargo test -p banter-frontend --target wasm32-unknown-unknown`).

use super::*;
use banter_protocol::http::{ConversationList, RoomList};
use banter_protocol::{Change, ChangeKind, ChatMessage, Reaction};
use serde::Serialize;
use wasm_bindgen_test::wasm_bindgen_test as test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// `value` as the server sends it, parsed by the browser.
fn parsed(value: &impl Serialize) -> JsValue {
    let json = serde_json::to_string(value).expect("serializable");
    js_sys::JSON::parse(&json).expect("JSON")
}

fn message(seq: u64) -> ChatMessage {
    ChatMessage {
        room: "dm-0123456789abcdef0123456789abcdef".into(),
        seq,
        id: format!("0193a5c4-7101-7e55-a0c3-51d2b3e4f5a{seq}"),
        user: "grace".into(),
        text: "line one\nline \"two\" <b>é</b>".into(),
        ts: 1_764_110_094_000 + seq,
        ..Default::default()
    }
}

#[test]
fn every_answer_reads_back_as_the_server_wrote_it() {
    let rooms = RoomList {
        rooms: vec![RoomSummary {
            room: "lobby".into(),
            head: 12,
            users: 3,
            private: false,
        }],
    };
    assert_eq!(read_rooms(&parsed(&rooms)), rooms.rooms);

    let conversations = ConversationList {
        conversations: vec![
            ConversationSummary {
                room: "dm-4b0c1d9e6f2a3b4c5d6e7f8091a2b3c4".into(),
                with: "grace".into(),
                head: 3,
                ts: 1_764_110_094_000,
                members: Vec::new(),
            },
            ConversationSummary {
                room: "dm-00000000000000000000000000000000".into(),
                with: "ada lovelace".into(),
                head: 0,
                ts: 0,
                members: Vec::new(),
            },
        ],
    };
    assert_eq!(
        read_conversations(&parsed(&conversations)),
        conversations.conversations
    );

    // v1.2: messages in their folded state, and the page's change entries.
    let mut root = message(1);
    root.edited_ts = Some(1_764_110_095_000);
    root.reactions = vec![Reaction {
        emoji: "👍".into(),
        users: vec!["ada".into(), "bob".into()],
    }];
    root.replies = Some(1);
    root.last_reply_ts = Some(1_764_110_094_002);
    let mut reply = message(2);
    reply.reply_to = Some(1);
    let mut gone = message(3);
    gone.text = String::new();
    gone.deleted = true;
    let page = MessagePage {
        room: "dm-0123456789abcdef0123456789abcdef".into(),
        messages: vec![root, reply, gone],
        complete: true,
        epoch: "01JDQ3Z9W6K8M2N4P5R7S9T1V3".into(),
        changes: vec![Change {
            room: "dm-0123456789abcdef0123456789abcdef".into(),
            seq: 4,
            target: 1,
            user: "ada".into(),
            ts: 1_764_110_095_000,
            kind: ChangeKind::React,
            text: None,
            emoji: Some("👍".into()),
        }],
    };
    assert_eq!(read_page(&parsed(&page)), Some(page));
}

#[test]
fn malformed_entries_are_skipped_and_a_page_needs_its_fields() {
    let json = js_sys::JSON::parse(
        r#"{"conversations":[{"room":"dm-a","with":"bob","head":1},
            {"room":"dm-b","with":"eve","head":-1,"ts":5},
            {"room":"dm-c","with":"ken","head":1.5,"ts":5},
            {"room":"dm-d","with":"ann","head":2,"ts":7}]}"#,
    )
    .expect("JSON");
    let read = read_conversations(&json);
    assert_eq!(read.len(), 1, "only the whole entry: {read:?}");
    assert_eq!(read[0].with, "ann");
    assert!(read_rooms(&js_sys::JSON::parse("{}").expect("JSON")).is_empty());
    let no_complete = js_sys::JSON::parse(r#"{"room":"lobby","messages":[]}"#).expect("JSON");
    assert_eq!(read_page(&no_complete), None);
}
