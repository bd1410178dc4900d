//! Property tests of the server's dispatch: a whole connection (`serve_socket`, the code every
//! WebSocket runs) is fed generated sequences of frames (valid ones, damaged ones, binary
//! frames, pings, tokens valid and forged) in each mode (typed open, typed token, classic). It
//! must never panic, and when the client goes away the hub must hold nothing of it: no
//! connection counted, nobody present in any room. The token checker and the bearer header
//! parser get arbitrary input too.
//!
//! `cargo test` runs a bounded number of cases; `just fuzz` a long run via `PROPTEST_CASES`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::Message;
use axum::http::{HeaderMap, HeaderValue, header};
use banter_protocol::Limits;
use banter_server::auth::{Identity, OpenIdentity, SharedIdentity, TokenIdentity, bearer_token};
use banter_server::hub::{Hub, HubConfig, conversations};
use banter_server::store::Store;
use banter_server::store::memory::MemoryStore;
use banter_server::store::memory::dedupe::DedupeLimits;
use banter_server::ws::{self, ConnSettings, Mode};
use futures_util::{Sink, Stream};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_util::sync::CancellationToken;

const SECRET: &[u8] = b"fuzz-secret-fuzz-secret-fuzz-secret!";

/// A client as a scripted stream of frames; what the server writes is discarded.
struct Script {
    frames: VecDeque<Message>,
}

impl Stream for Script {
    type Item = Result<Message, axum::Error>;
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.frames.pop_front().map(Ok))
    }
}

impl Sink<Message> for Script {
    type Error = axum::Error;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

fn token_for(sub: &str, rooms: Option<Vec<String>>) -> String {
    TokenIdentity::new(SECRET, Limits::default())
        .issue(sub, Duration::from_secs(3600), rooms)
        .expect("sign")
}

/// A frame a client might send: mostly well-formed messages over a small vocabulary (so joins,
/// sends and presence really happen), plus damaged text, binary frames and pings.
fn client_frame() -> impl Strategy<Value = Message> {
    let room = proptest::sample::select(vec!["lobby", "a", "b", "Bad Room", ""]);
    let name = proptest::sample::select(vec!["ada", "bob", "", " ada ", "x\u{7}"]);
    let text = prop_oneof![
        Just("hi".to_owned()),
        Just(String::new()),
        "\\PC{0,50}",
        Just("y".repeat(4001))
    ];
    let id = proptest::option::of(prop_oneof![Just("c1".to_owned()), "\\PC{0,80}"]);
    let typed = (room, name, text, id, 0u8..12, any::<u64>()).prop_map(
        |(room, name, text, id, kind, since)| {
            // A conversation's id, and a malformed one, for the membership paths.
            let dm = if since % 2 == 0 {
                conversations::id("ada", "bob")
            } else {
                format!("dm-{}", since % 7)
            };
            let v = match kind {
                0 => serde_json::json!({"type":"join","room":room,"name":name}),
                1 => serde_json::json!({"type":"join","room":room,"name":name,"since":since % 5}),
                2 => serde_json::json!({"type":"send","room":room,"text":text,"client_id":id}),
                3 => serde_json::json!({"type":"typing","room":room}),
                4 => serde_json::json!({"type":"leave","room":room}),
                5 => serde_json::json!({"type":"direct","to":name,"text":text,"client_id":id}),
                6 => serde_json::json!({"type":"auth","token":token_for(name, None)}),
                7 => serde_json::json!({"type":"auth","token":token_for("ada", Some(vec![room.to_owned()]))}),
                8 => serde_json::json!({"type":"join","with":name,"name":name,"since":since % 3}),
                9 => serde_json::json!({"type":"join","room":dm,"name":name}),
                10 => serde_json::json!({"type":"send","room":dm,"text":text,"client_id":id}),
                _ => serde_json::json!({"type":"auth","token":text}),
            };
            Message::text(v.to_string())
        },
    );
    prop_oneof![
        6 => typed,
        1 => "\\PC{0,200}".prop_map(Message::text),
        1 => r#"\{"type":"(join|send|shout)","room":[0-9a-z"{]{0,9}"#.prop_map(Message::text),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Message::binary),
        1 => Just(Message::Ping(Default::default())),
        1 => Just(Message::Pong(Default::default())),
        1 => r#"\{"user":"[a-z]{0,5}","message":"\PC{0,20}"\}"#.prop_map(Message::text),
    ]
}

fn settings(identity: SharedIdentity, rate: u32) -> Arc<ConnSettings> {
    Arc::new(ConnSettings {
        ping_interval: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(45),
        max_rooms: 2,
        rate: ws::quota(rate, rate * 2),
        close_grace: Duration::from_millis(10),
        version: "fuzz",
        identity,
        auth_timeout: Duration::from_secs(5),
        rooms_per_ip: banter_server::limit::rooms_per_ip::RoomsPerIp::new(3),
    })
}

/// Runs one connection over `frames` to its end, then checks the hub forgot it.
async fn run_connection(frames: Vec<Message>, mode: Mode, token: bool, rate: u32) {
    let cfg = HubConfig {
        history: 8,
        ..HubConfig::default()
    };
    let store = MemoryStore::new(
        cfg.history,
        cfg.max_rooms,
        DedupeLimits {
            window: Duration::from_secs(60),
            capacity: 100,
        },
    );
    let hub = Hub::new(cfg, Store::new(Arc::new(store), None));
    let identity: SharedIdentity = if token {
        Arc::new(TokenIdentity::new(SECRET, Limits::default()))
    } else {
        Arc::new(OpenIdentity)
    };
    // A bystander in every room sees the presence and messages the script causes.
    let watcher = hub.new_peer();
    for room in ["lobby", "a", "b"] {
        hub.join(&watcher, room, &"watcher".into(), None, None, None)
            .expect("join");
    }
    let (_beat, heartbeat) = tokio::sync::watch::channel(());
    let guard = hub.try_open_connection(10).expect("room for one");
    ws::serve_socket(
        Script {
            frames: frames.into(),
        },
        ("fuzz".to_owned(), Some([127, 0, 0, 1].into())),
        hub.clone(),
        settings(identity, rate),
        mode,
        CancellationToken::new(),
        heartbeat,
        guard,
    )
    .await;
    assert_eq!(hub.connections(), 0, "the connection is uncounted");
    for r in hub.rooms(1000, None).await.expect("rooms").rooms {
        assert!(
            r.users <= 1,
            "only the watcher is left in {}: {r:?}",
            r.room
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

/// Prints a property's figures.
fn report(name: &str, cases: u32, inputs: u64, failed: bool, t0: std::time::Instant) {
    println!(
        "fuzz {name}: {cases} cases, {inputs} inputs, {} panics, {:.1} s",
        u8::from(failed),
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn any_frame_sequence_leaves_the_server_consistent() {
    let rt = runtime();
    let t0 = std::time::Instant::now();
    let inputs = std::cell::Cell::new(0u64);
    let mut runner = TestRunner::new(Config::default());
    let cases = runner.config().cases;
    let strategy = (
        prop::collection::vec(client_frame(), 0..24),
        proptest::sample::select(vec![
            (Mode::Typed, false),
            (Mode::Typed, true),
            (Mode::Classic, false),
        ]),
        proptest::sample::select(vec![0u32, 3]),
    );
    let result = runner.run(&strategy, |(frames, (mode, token), rate)| {
        inputs.set(inputs.get() + frames.len() as u64);
        rt.block_on(run_connection(frames, mode, token, rate));
        Ok(())
    });
    report(
        "dispatch (frames)",
        cases,
        inputs.get(),
        result.is_err(),
        t0,
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn token_checks_never_panic_on_any_input() {
    let id = TokenIdentity::new(SECRET, Limits::default());
    let valid: Vec<char> = token_for("ada", None).chars().collect();
    let t0 = std::time::Instant::now();
    let inputs = std::cell::Cell::new(0u64);
    let mut runner = TestRunner::new(Config::default());
    let cases = runner.config().cases;
    let strategy = prop::collection::vec(
        (
            "\\PC{0,300}",
            prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 0..4),
        ),
        0..32,
    );
    let result = runner.run(&strategy, |batch| {
        for (s, edits) in batch {
            inputs.set(inputs.get() + 1);
            let _ = id.verify(&s);
            // A valid token with a few characters changed is refused (or, rarely, still itself).
            let mut t = valid.clone();
            for (at, c) in &edits {
                let i = at.index(t.len());
                t[i] = *c;
            }
            let t: String = t.into_iter().collect();
            if let Ok(c) = id.verify(&t) {
                prop_assert_eq!(&*c.user, "ada");
            }
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&s) {
                h.insert(header::AUTHORIZATION, v);
                let _ = bearer_token(&h);
            }
        }
        Ok(())
    });
    report(
        "token and bearer checks",
        cases,
        inputs.get(),
        result.is_err(),
        t0,
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
