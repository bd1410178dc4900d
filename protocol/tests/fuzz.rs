//! Property tests over every decoder and validation rule of the contract, with generated inputs
//! (cargo-fuzz needs a nightly toolchain; these run on stable). A decode or validation must never
//! panic whatever the bytes, a decoded client message must re-encode to something that decodes
//! to the same value, and whatever validation accepts must obey the documented rules.
//!
//! `cargo test` runs a bounded number of cases (proptest's default, 256 per property, each case
//! a batch of inputs); `just fuzz` sets `PROPTEST_CASES` for a long run (see the justfile). Each
//! property prints how many inputs it tried (`-- --nocapture`).

use banter_protocol::http::{MessagePage, PostMessage};
use banter_protocol::{ClassicMsg, ClientMsg, Limits, ServerMsg};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const KEYS: &[&str] = &[
    "type",
    "room",
    "name",
    "text",
    "since",
    "epoch",
    "client_id",
    "to",
    "token",
    "user",
    "message",
    "seq",
    "users",
    "head",
];
const TYPES: &[&str] = &[
    "join",
    "leave",
    "send",
    "direct",
    "typing",
    "auth",
    "welcome",
    "joined",
    "message",
    "replay",
    "ack",
    "presence",
    "error",
    "authenticated",
    "shout",
    "",
];

/// Any string, biased toward the edges that matter: empty, whitespace, control characters,
/// long runs, valid room names, non-ASCII.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9_-]{0,70}",
        "[ \\t\\n\\r\u{0}\u{7f}\u{85}\u{a0}\u{2028}]{0,8}[a-zA-Z]{0,40}[ \\t\\n]{0,4}",
        "\\PC{0,300}",
        Just("é".repeat(4001)),
        Just(String::new()),
    ]
}

/// JSON values shaped like frames: known keys and types with ill-typed, missing, extra and
/// extreme values, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        tricky_string().prop_map(Value::String),
        proptest::sample::select(TYPES).prop_map(|t| Value::String(t.to_owned())),
    ];
    leaf.prop_recursive(2, 16, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// A frame: an object with a `type` most of the time, then any fields.
fn frame() -> impl Strategy<Value = String> {
    (
        proptest::option::weighted(0.9, proptest::sample::select(TYPES)),
        prop::collection::vec((proptest::sample::select(KEYS), json_value()), 0..7),
    )
        .prop_map(|(ty, fields)| {
            let mut m = Map::new();
            if let Some(t) = ty {
                m.insert("type".into(), Value::String(t.to_owned()));
            }
            for (k, v) in fields {
                m.insert(k.to_owned(), v);
            }
            Value::Object(m).to_string()
        })
}

/// A valid frame with byte-level damage: truncation, insertions, overwrites.
fn mutated_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        frame(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..8),
    )
        .prop_map(|(f, edits)| {
            let mut b = f.into_bytes();
            for (at, byte, op) in edits {
                if b.is_empty() {
                    b.push(byte);
                    continue;
                }
                let i = at.index(b.len());
                match op {
                    0 => b.truncate(i),
                    1 => b.insert(i, byte),
                    _ => b[i] = byte,
                }
            }
            b
        })
}

/// Every decoder the server or a client runs on untrusted text.
fn decode_everything(text: &str) {
    if let Ok(msg) = serde_json::from_str::<ClientMsg>(text) {
        let again: ClientMsg =
            serde_json::from_str(&msg.to_json()).expect("a decoded message re-decodes");
        assert_eq!(again, msg);
    }
    if let Ok(msg) = serde_json::from_str::<ServerMsg>(text) {
        let again: ServerMsg = serde_json::from_str(&msg.to_json()).expect("re-decodes");
        assert_eq!(again, msg);
    }
    let _ = serde_json::from_str::<ClassicMsg>(text);
    let _ = serde_json::from_str::<PostMessage>(text);
    let _ = serde_json::from_str::<MessagePage>(text);
}

/// Every validation rule, with what acceptance promises.
fn validate_everything(s: &str, limits: &Limits) {
    if let Ok(name) = limits.name(s) {
        assert_eq!(name, name.trim());
        let n = name.chars().count();
        assert!(n >= 1 && n <= limits.max_name_chars);
        assert!(!name.chars().any(char::is_control));
    }
    if let Ok(room) = limits.room(s) {
        let n = room.chars().count();
        assert!(n >= 1 && n <= limits.max_room_chars);
        assert!(
            room.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        );
    }
    if let Ok(text) = limits.text(s) {
        let n = text.chars().count();
        assert!(n >= 1 && n <= limits.max_text_chars);
        assert_eq!(text, text.trim());
    }
    if let Ok(id) = limits.client_id(s) {
        let n = id.chars().count();
        assert!(n >= 1 && n <= limits.max_client_id_chars);
    }
}

fn small_limits() -> impl Strategy<Value = Limits> {
    (0usize..80, 0usize..80, 0usize..5000, 0usize..80).prop_map(|(name, room, text, id)| Limits {
        max_name_chars: name,
        max_room_chars: room,
        max_text_chars: text,
        max_client_id_chars: id,
        ..Limits::default()
    })
}

/// `PROPTEST_CASES` cases (default 64: a quick bounded run in `cargo test`), no failure files.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `check` over `strategy`'s batches with proptest's runner (cases from
/// `PROPTEST_CASES`), counting the inputs `check` says it tried, and prints the figures. A failure (or panic) is
/// reported with its shrunk input.
fn fuzz<T: std::fmt::Debug>(
    name: &str,
    strategy: impl Strategy<Value = Vec<T>>,
    check: impl Fn(&T) -> u64,
) {
    let inputs = AtomicU64::new(0);
    let t0 = Instant::now();
    let mut runner = TestRunner::new(config());
    let cases = runner.config().cases;
    let result = runner.run(&strategy, |batch| {
        for input in &batch {
            inputs.fetch_add(check(input), Ordering::Relaxed);
        }
        Ok(())
    });
    println!(
        "fuzz {name}: {cases} cases, {} inputs, {} panics, {:.1} s",
        inputs.load(Ordering::Relaxed),
        u8::from(result.is_err()),
        t0.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

const BATCH: std::ops::Range<usize> = 0..32;

/// Decodes `bytes` and up to 48 prefixes of it, evenly spread (a frame cut anywhere); returns
/// how many inputs that was.
fn decode_with_prefixes(bytes: &[u8]) -> u64 {
    let step = (bytes.len() / 48).max(1);
    let mut n = 0;
    for end in (0..bytes.len()).step_by(step).chain([bytes.len()]) {
        decode_everything(&String::from_utf8_lossy(&bytes[..end]));
        n += 1;
    }
    n
}

#[test]
fn arbitrary_text_never_panics_a_decoder() {
    fuzz(
        "arbitrary text",
        prop::collection::vec(any::<String>(), BATCH),
        |s| {
            decode_everything(s);
            1
        },
    );
}

#[test]
fn frame_shaped_json_decodes_or_is_refused_and_round_trips() {
    fuzz(
        "frame-shaped JSON",
        prop::collection::vec(frame(), BATCH),
        |f| decode_with_prefixes(f.as_bytes()),
    );
}

#[test]
fn damaged_frames_never_panic_a_decoder() {
    fuzz(
        "damaged frames",
        prop::collection::vec(mutated_frame(), BATCH),
        |b| decode_with_prefixes(b),
    );
}

#[test]
fn validation_never_panics_and_accepts_only_what_the_rules_allow() {
    fuzz(
        "validation",
        prop::collection::vec((tricky_string(), small_limits()), BATCH),
        |(s, limits)| {
            validate_everything(s, &Limits::default());
            validate_everything(s, limits);
            2
        },
    );
}

#[test]
fn generated_client_messages_round_trip() {
    let parts = (
        tricky_string(),
        tricky_string(),
        proptest::option::of(tricky_string()),
        proptest::option::of(any::<u64>()),
    );
    fuzz(
        "client message round trip",
        prop::collection::vec(parts, BATCH),
        |(room, text, id, since)| {
            let msgs = [
                ClientMsg::Join {
                    room: room.clone(),
                    name: text.clone(),
                    since: *since,
                    epoch: id.clone(),
                    with: None,
                },
                ClientMsg::Send {
                    room: room.clone(),
                    text: text.clone(),
                    client_id: id.clone(),
                    reply_to: None,
                    files: Vec::new(),
                },
                ClientMsg::Direct {
                    to: room.clone(),
                    text: text.clone(),
                    client_id: id.clone(),
                },
                ClientMsg::Typing { room: room.clone() },
                ClientMsg::Leave { room: room.clone() },
                ClientMsg::Auth {
                    token: text.clone(),
                },
            ];
            let n = msgs.len() as u64;
            for m in msgs {
                let back: ClientMsg = serde_json::from_str(&m.to_json()).expect("decodes");
                assert_eq!(back, m);
            }
            n
        },
    );
}
