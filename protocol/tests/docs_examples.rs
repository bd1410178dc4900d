//! Pins the JSON of every example in `docs/protocol.md`: each one must parse into the protocol's
//! types and re-encode byte for byte, and every message type must have an example.

use std::collections::BTreeSet;

use banter_protocol::http::{
    ApiError, ConversationList, Health, MessagePage, PostMessage, RoomList,
};
use banter_protocol::{ChatMessage, ClassicMsg, ClientMsg, ServerMsg};
use serde::Serialize;
use serde::de::DeserializeOwned;

const DOC: &str = include_str!("../../docs/protocol.md");

/// `(info string, example line)` for every line of every ```json block.
fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in DOC.lines() {
        if let Some(info) = line.strip_prefix("```") {
            current = match current {
                None => Some(info.trim().to_owned()),
                Some(_) => None,
            };
            continue;
        }
        if let Some(info) = &current
            && let Some(kind) = info.strip_prefix("json ")
            && !line.trim().is_empty()
        {
            out.push((kind.to_owned(), line.to_owned()));
        }
    }
    out
}

fn round_trip<T: Serialize + DeserializeOwned>(line: &str) -> T {
    let value: T = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("docs example does not parse: {e}\n{line}"));
    let again = serde_json::to_string(&value).unwrap();
    assert_eq!(again, line, "docs example does not re-encode identically");
    value
}

fn tag(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["type"].as_str().unwrap().to_owned()
}

#[test]
fn every_docs_example_round_trips_exactly() {
    let mut client_types = BTreeSet::new();
    let mut server_types = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for (kind, line) in examples() {
        match kind.as_str() {
            "client" => {
                let msg: ClientMsg = round_trip(&line);
                assert_eq!(msg.to_json(), line);
                client_types.insert(tag(&line));
            }
            "server" => {
                let msg: ServerMsg = round_trip(&line);
                assert_eq!(msg.to_json(), line);
                if let ServerMsg::Message(m) = &msg {
                    assert_eq!(ServerMsg::message_json(m), line);
                }
                server_types.insert(tag(&line));
            }
            "post" => drop(round_trip::<PostMessage>(&line)),
            "stored" => drop(round_trip::<ChatMessage>(&line)),
            "page" => drop(round_trip::<MessagePage>(&line)),
            "rooms" => drop(round_trip::<RoomList>(&line)),
            "conversations" => drop(round_trip::<ConversationList>(&line)),
            "health" => drop(round_trip::<Health>(&line)),
            "error" => drop(round_trip::<ApiError>(&line)),
            "classic" => drop(round_trip::<ClassicMsg>(&line)),
            other => panic!("unknown example kind `{other}` in docs/protocol.md"),
        }
        kinds.insert(kind);
    }
    let want = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        client_types,
        want(&[
            "auth", "delete", "direct", "edit", "join", "leave", "react", "read", "send", "typing"
        ])
    );
    assert_eq!(
        server_types,
        want(&[
            "ack",
            "added",
            "authenticated",
            "change",
            "direct",
            "error",
            "joined",
            "message",
            "presence",
            "read",
            "removed",
            "replay",
            "welcome"
        ])
    );
    assert_eq!(
        kinds,
        want(&[
            "classic",
            "client",
            "conversations",
            "error",
            "health",
            "page",
            "post",
            "rooms",
            "server",
            "stored"
        ])
    );
}

#[test]
fn classic_encoding_of_a_stored_message() {
    let m = ChatMessage {
        room: "lobby".into(),
        seq: 1,
        id: "x".into(),
        user: "ada".into(),
        text: "hi \"there\"".into(),
        ts: 1,
        ..Default::default()
    };
    assert_eq!(
        ClassicMsg::json_from(&m),
        r#"{"user":"ada","message":"hi \"there\""}"#
    );
}

#[test]
fn unknown_fields_are_ignored_and_missing_fields_refused() {
    let m: ClientMsg =
        serde_json::from_str(r#"{"type":"leave","room":"lobby","future":true}"#).unwrap();
    assert_eq!(
        m,
        ClientMsg::Leave {
            room: "lobby".into()
        }
    );
    assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"send","room":"lobby"}"#).is_err());
    assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"shout","room":"lobby"}"#).is_err());
}
