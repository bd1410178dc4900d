//! Read positions as the page keeps them: unread from the server's position (`joined.read`,
//! `read` frames), mentions since it, `read` sent when a room is seen, "mark all read".

use super::*;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn joined_at(room: &str, head: u64, read: u64) -> ServerMsg {
    match joined(room, head) {
        ServerMsg::Joined {
            room,
            users,
            head,
            epoch,
            users_total,
            with,
            role,
            private,
            ..
        } => ServerMsg::Joined {
            room,
            users,
            head,
            epoch,
            users_total,
            with,
            read,
            role,
            private,
        },
        _ => unreachable!(),
    }
}

fn reads(frames: &[ClientMsg]) -> Vec<(String, u64)> {
    frames
        .iter()
        .filter_map(|f| match f {
            ClientMsg::Read { room, seq } => Some((room.clone(), *seq)),
            _ => None,
        })
        .collect()
}

/// A page just loaded (ada, on the lobby) that joins `ops` too, where the server says ada read
/// up to `read` of `head`; the replay brings `texts` as messages `head - len + 1 ..= head`.
fn reloaded(head: u64, read: u64, texts: &[(&str, &str)]) -> Session {
    let mut s = Session::new("t");
    s.restore_rooms(&["ops".to_string()]);
    s.set_name("ada").expect("valid name");
    s.handle(welcome());
    s.handle(joined_at("lobby", 0, 0));
    s.handle(joined_at("ops", head, read));
    let first = head + 1 - texts.len() as u64;
    for (i, (user, text)) in texts.iter().enumerate() {
        s.handle(ServerMsg::Message(msg("ops", first + i as u64, user, text)));
    }
    s
}

#[test]
fn after_a_reload_unread_and_mentions_come_from_the_server_position() {
    let s = reloaded(
        6,
        2,
        &[
            ("grace", "one"),
            ("grace", "@ada two"),
            ("ada", "mine"),
            ("grace", "three"),
            ("grace", "four"),
            ("grace", "five"),
        ],
    );
    let ops = s.room_state("ops").expect("ops");
    // 3..=6 are past the position; 5 is ada's own; 2 (the mention) was read.
    assert_eq!((ops.unread, ops.mentions), (3, 0));
    let s = reloaded(
        4,
        1,
        &[("grace", "@ada two"), ("grace", "x"), ("grace", "y")],
    );
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (3, 1));
}

#[test]
fn a_read_from_another_tab_clears_the_count_here() {
    let mut s = reloaded(5, 1, &[("grace", "a"), ("grace", "@ada b")]);
    assert_eq!(s.unread_total(), 4);
    s.handle(ServerMsg::Read {
        room: "ops".into(),
        seq: 4,
    });
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (1, 1));
    // Positions never move back.
    s.handle(ServerMsg::Read {
        room: "ops".into(),
        seq: 2,
    });
    assert_eq!(s.unread_total(), 1);
    s.handle(ServerMsg::Read {
        room: "ops".into(),
        seq: 5,
    });
    assert_eq!(s.unread_total(), 0);
    assert!(
        reads(&s.take_reads()).is_empty(),
        "the server knows already"
    );
}

#[test]
fn seeing_a_room_tells_the_server_once_per_batch() {
    let mut s = reloaded(5, 1, &[("grace", "a")]);
    // Nothing was seen yet (the lobby on screen is empty and read).
    assert!(reads(&s.take_reads()).is_empty());
    s.switch_room("ops").expect("valid");
    assert_eq!(s.unread_total(), 0);
    s.handle(ServerMsg::Message(msg("ops", 6, "grace", "live")));
    s.handle(ServerMsg::Message(msg("ops", 7, "grace", "live")));
    assert_eq!(reads(&s.take_reads()), [("ops".to_string(), 7)]);
    assert!(reads(&s.take_reads()).is_empty());
}

#[test]
fn a_room_never_read_starts_read_at_its_head() {
    let mut s = reloaded(9, 0, &[]);
    assert_eq!(
        s.unread_total(),
        0,
        "history from before the user came is not unread"
    );
    assert_eq!(reads(&s.take_reads()), [("ops".to_string(), 9)]);
}

#[test]
fn mark_all_read_clears_every_room_and_tells_the_server() {
    let mut s = reloaded(5, 1, &[("grace", "@ada x")]);
    assert_eq!(s.unread_total(), 4);
    s.mark_all_read();
    assert_eq!(s.unread_total(), 0);
    assert_eq!(reads(&s.take_reads()), [("ops".to_string(), 5)]);
}

#[test]
fn nothing_is_sent_for_a_room_not_joined_on_this_connection() {
    let mut s = reloaded(5, 1, &[]);
    s.disconnected();
    s.mark_all_read();
    assert!(reads(&s.take_reads()).is_empty());
    s.handle(welcome());
    s.handle(joined_at("ops", 5, 1));
    assert_eq!(reads(&s.take_reads()), [("ops".to_string(), 5)]);
}

#[test]
fn opening_a_room_with_unread_marks_where_new_messages_start() {
    let mut s = reloaded(5, 1, &[("grace", "a")]);
    s.switch_room("ops").expect("valid");
    assert_eq!(s.unread_line, Some(("ops".to_string(), 1)));
    assert_eq!(s.unread_total(), 0);
    // A room with nothing unread shows no line.
    s.switch_room("lobby").expect("valid");
    assert_eq!(s.unread_line, None);
}

#[test]
fn an_at_here_or_everyone_badge_survives_a_recount() {
    let mut s = reloaded(
        5,
        2,
        &[
            ("grace", "@here standup"),
            ("grace", "@everyone lunch"),
            ("grace", "x"),
        ],
    );
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (3, 2), "both are for ada");
    // Another tab read up to the @here: the @everyone is still for ada.
    s.handle(ServerMsg::Read {
        room: "ops".into(),
        seq: 3,
    });
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (2, 1));
    // A reconnect counts again from what is held: the badge stays.
    s.disconnected();
    s.handle(welcome());
    s.handle(joined_at("lobby", 0, 0));
    s.handle(joined_at("ops", 5, 3));
    let ops = s.room_state("ops").expect("ops");
    assert_eq!((ops.unread, ops.mentions), (2, 1));
}
