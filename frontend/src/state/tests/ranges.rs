//! The window over held stretches of history (`state::ranges`): a page read far back is never
//! shown as if it joined the live messages; pages read forward from it close the hole.

use super::*;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn page(from: u64, to: u64) -> MessagePage {
    MessagePage {
        room: "lobby".into(),
        messages: (from..=to)
            .map(|q| msg("lobby", q, "grace", "old"))
            .collect(),
        complete: false,
        epoch: "e1".into(),
        changes: Vec::new(),
    }
}

fn seqs(shown: &Shown) -> (u64, u64, usize) {
    let first = shown.messages.first().map_or(0, |m| m.seq);
    let last = shown.messages.last().map_or(0, |m| m.seq);
    (first, last, shown.messages.len())
}

#[test]
fn a_page_far_back_fills_forward_until_it_meets_the_live_messages() {
    let mut s = online_with(&[]);
    s.handle(replay("lobby", 901, 1_000, false));
    for seq in 901..=1_000 {
        s.handle(ServerMsg::Message(msg("lobby", seq, "grace", "x")));
    }
    // Following: the newest, and older ones come from the server.
    let live = s.shown(None, 50, 1_000);
    assert_eq!(seqs(&live), (951, 1_000, 50));
    assert_eq!((live.older_held, live.fetch_before), (50, None));
    assert!(live.at_live_end());

    // A search result at 100: the page around it, shown alone with the way forward.
    assert_eq!(s.add_before("lobby", 200, page(100, 199)), 100);
    let far = s.shown(Some(150), 50, 1_000);
    assert_eq!(seqs(&far), (150, 199, 50));
    assert_eq!(
        far.fetch_after,
        Some(199),
        "the hole after 199 is to be fetched"
    );
    assert_eq!((far.older_held, far.fetch_before), (50, None));
    let top = s.shown(Some(100), 50, 1_000);
    assert_eq!(
        top.fetch_before,
        Some(100),
        "older than the page: from the server"
    );
    assert!(!far.at_live_end());
    let capped = s.shown(Some(150), 50, 20);
    assert_eq!(
        (seqs(&capped), capped.newer_held, capped.fetch_after),
        ((150, 169, 20), 30, None)
    );

    // Forward pages until the live run: then one stretch, every seq once, to the newest.
    let mut since = 199;
    while since < 900 {
        let to = (since + 200).min(950);
        s.add_after("lobby", since, page(since + 1, to));
        since = to;
    }
    let all = s.shown(Some(150), 50, 10_000);
    assert_eq!(seqs(&all), (150, 1_000, 851));
    assert!(all.messages.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert!(all.at_live_end());
}

#[test]
fn a_page_of_another_life_is_not_taken() {
    let mut s = online_with(&[]);
    s.handle(replay("lobby", 901, 1_000, false));
    s.handle(ServerMsg::Message(msg("lobby", 1_000, "grace", "x")));
    let mut other = page(100, 199);
    other.epoch = "e2".into();
    assert_eq!(s.add_before("lobby", 200, other), 0);
    assert_eq!(s.shown(Some(150), 50, 100).messages.len(), 0);
}

#[test]
fn a_replay_is_pending_until_its_last_entry() {
    let mut s = online_with(&[]);
    s.handle(replay("lobby", 1, 3, true));
    s.handle(ServerMsg::Message(msg("lobby", 1, "grace", "x")));
    assert!(s.replaying_on_screen());
    for seq in 2..=3 {
        s.handle(ServerMsg::Message(msg("lobby", seq, "grace", "x")));
    }
    assert!(!s.replaying_on_screen());
}
