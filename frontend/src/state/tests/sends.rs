//! Pending sends as the page shows them: pending until acked, re-sent with the same
//! `client_id` after a reconnect, refused ones retried or discarded, one at a time in the order
//! written (the rule is the client core's; these check the page keeps it).

use super::*;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn a_send_is_pending_until_its_ack() {
    let mut s = online_with(&[1]);
    let out = s.compose("  hello  ").expect("valid text");
    let sent = sends(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "hello");
    let id = sent[0].1.clone();
    assert!(id.starts_with("t-"));
    assert_eq!(s.pending().len(), 1);
    // The echo arrives before the ack; the ack clears the pending send.
    s.handle(ServerMsg::Message(msg("lobby", 2, "ada", "hello")));
    s.handle(ServerMsg::Ack {
        client_id: id,
        room: "lobby".into(),
        seq: 2,
    });
    assert!(s.pending().is_empty());
}

#[test]
fn unacked_sends_go_again_with_the_same_client_id_after_reconnect() {
    let mut s = online_with(&[1]);
    let first = sends(&s.compose("one").expect("valid"));
    s.disconnected();
    // Written while offline: queued, nothing goes out.
    assert!(s.compose("two").expect("valid").is_empty());
    assert_eq!(s.pending().len(), 2);

    assert_eq!(s.handle(welcome()).len(), 1, "just the join");
    let again = sends(&s.handle(joined("lobby", 1)));
    assert_eq!(again, first, "same text, same client_id; one at a time");
    // Nothing is sent twice on the same connection.
    assert!(s.handle(joined("lobby", 1)).is_empty());
    let next = sends(&s.handle(ServerMsg::Ack {
        client_id: first[0].1.clone(),
        room: "lobby".into(),
        seq: 2,
    }));
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].0, "two", "in the order written");
}

#[test]
fn refused_sends_can_be_retried_or_discarded() {
    let mut s = online_with(&[]);
    let id = sends(&s.compose("spam").expect("valid"))[0].1.clone();
    s.handle(ServerMsg::error(
        ErrorCode::RateLimited,
        "slow down",
        Some(id.clone()),
    ));
    let p = s.pending().in_room("lobby").next().expect("still listed");
    // A rate-limit refusal is told with the rate in force (the server's sentence omits it).
    assert_eq!(p.state, PendingState::Failed(s.rate_sentence()));
    assert_eq!(s.notice, None, "a send's refusal is shown on the send");
    assert_eq!(sends(&s.retry(&id)), [("spam".to_string(), id.clone())]);
    s.discard(&id);
    assert!(s.pending().is_empty());
}

#[test]
fn empty_and_too_long_text_is_refused_locally() {
    let mut s = online_with(&[]);
    assert!(s.compose("   \n ").is_err());
    assert!(s.compose(&"x".repeat(4_001)).is_err());
    assert!(s.compose(&"x".repeat(4_000)).is_ok());
    assert_eq!(s.pending().len(), 1);
    assert!(Session::new("t").compose("hi").is_err(), "no name yet");
}

/// Sends go one at a time, in the order written: a refusal holds the ones after it (shown
/// refused, same reason), and "Retry all" sends them again in that order (it once re-sent them
/// out of order: 43, 50, 59, 31…).
#[test]
fn the_rate_limit_refusal_says_the_rate_and_retries_together_in_order() {
    let mut s = online_with(&[]);
    let first = sends(&s.compose("m0").expect("valid"));
    for i in 1..3 {
        assert!(
            s.compose(&format!("m{i}")).expect("valid").is_empty(),
            "after m0's ack"
        );
    }
    let ack = |s: &mut Session, id: &str, seq: u64| {
        sends(&s.handle(ServerMsg::Ack {
            client_id: id.into(),
            room: "lobby".into(),
            seq,
        }))
    };
    let m1 = ack(&mut s, &first[0].1, 1);
    assert_eq!(m1[0].0, "m1");
    s.handle(ServerMsg::error(
        ErrorCode::RateLimited,
        "slow down: the burst allows 40 messages, then the sustained rate",
        Some(m1[0].1.clone()),
    ));
    let reasons: Vec<String> = s
        .pending()
        .in_room("lobby")
        .filter_map(|p| match &p.state {
            PendingState::Failed(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2, "m1 refused, m2 held behind it");
    assert!(
        reasons[0].contains("20 messages per second") && reasons[0].contains("40"),
        "{}",
        reasons[0]
    );
    let again = sends(&s.retry_all());
    assert_eq!(again, m1, "m1 first, same id");
    let m2 = ack(&mut s, &m1[0].1, 2);
    assert_eq!(m2[0].0, "m2", "then m2");
    assert!(ack(&mut s, &m2[0].1, 3).is_empty());
    assert!(s.pending().is_empty());
}
