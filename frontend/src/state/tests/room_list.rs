//! The user's rooms as the server keeps them (`state::room_list`): another device's joins come
//! in, its leaves go out, what this page joined stays, an empty list is filled from here.

use super::*;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_servers_list_adds_and_drops_rooms_but_keeps_what_was_joined_here() {
    let mut s = Session::new("t");
    s.restore_rooms(&names(&["old", "ops"]));
    s.set_name("ada").expect("valid name");
    s.handle(welcome());
    s.switch_room("new").expect("a room");
    s.switch_room("lobby").expect("a room");
    let taken = s.take_room_list(&names(&["ops", "design"]));
    assert_eq!(s.my_rooms, names(&["lobby", "ops", "new", "design"]));
    assert_eq!(
        taken.upload,
        names(&["lobby", "new"]),
        "on screen, joined here"
    );
    let kinds: Vec<String> = taken
        .frames
        .iter()
        .map(|f| match f {
            ClientMsg::Join { room, .. } => format!("join {room}"),
            ClientMsg::Leave { room } => format!("leave {room}"),
            other => format!("{other:?}"),
        })
        .collect();
    // `old` was never joined on this connection: dropped without a `leave`.
    assert_eq!(kinds, ["join design"]);
}

#[test]
fn an_empty_list_on_the_server_takes_this_pages_rooms() {
    let mut s = Session::new("t");
    s.restore_rooms(&names(&["ops"]));
    let taken = s.take_room_list(&[]);
    assert_eq!(taken.upload, names(&["lobby", "ops"]));
    assert!(taken.frames.is_empty());
}
