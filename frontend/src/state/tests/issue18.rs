//! Issue 18 in the page's state: conversation addresses, typed room names, "Change name" with
//! a way back and a new name's conversations, the screen before `welcome`, `joined`'s role and
//! `private`, `removed`, group conversations.

use super::*;

use banter_protocol::{ChangeKind, ClientMsg, RoomRole};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn conversation_addresses_and_typed_room_names() {
    assert_eq!(dm_from_hash("#/dm/bob").as_deref(), Some("bob"));
    assert_eq!(
        dm_from_hash("#/dm/ada%20lovelace/").as_deref(),
        Some("ada lovelace")
    );
    assert_eq!(dm_from_hash("#/r/lobby"), None);
    assert_eq!(dm_from_hash("#/dm/"), None);
    assert_eq!(hash_for_dm("ada lovelace"), "#/dm/ada%20lovelace");
    assert_eq!(dm_from_hash(&hash_for_dm("zoë")).as_deref(), Some("zoë"));
    assert_eq!(tidy_room_name("#general"), "general");
    assert_eq!(tidy_room_name("  Dev Team "), "dev-team");
    assert_eq!(tidy_room_name("# ops . eu"), "ops-eu");
    assert!(Limits::default().room(&tidy_room_name("Café!")).is_err());
}

#[test]
fn nothing_is_asked_before_the_server_says_what_it_wants() {
    let mut s = Session::new("t");
    assert_eq!(s.screen(), Screen::Connecting);
    s.handle(welcome());
    assert_eq!(s.screen(), Screen::Name);
    // A token server stays a token server while reconnecting: the sign-in page, not a name.
    let mut s = Session::new("t");
    s.handle(ServerMsg::welcome(
        "s".into(),
        "0.1.0",
        Limits::default(),
        AuthMode::Token,
    ));
    s.disconnected();
    assert_eq!(s.screen(), Screen::SignIn);
}

#[test]
fn change_name_can_be_cancelled_and_a_new_name_drops_the_old_conversations() {
    let mut s = online_with(&[]);
    s.open_dm("bob").expect("a conversation");
    s.handle(ServerMsg::Joined {
        room: "dm-ada-bob".into(),
        users: vec!["ada".into()],
        head: 3,
        epoch: "e1".into(),
        users_total: None,
        with: Some("bob".into()),
        read: 0,
        role: None,
        private: false,
    });
    s.start_renaming();
    assert_eq!(s.screen(), Screen::Name);
    s.cancel_renaming();
    assert_eq!(s.screen(), Screen::Chat);
    assert_eq!(s.dm.as_deref(), Some("bob"));

    s.start_renaming();
    s.set_name("ada2").expect("a good name");
    assert_eq!(s.screen(), Screen::Chat);
    assert_eq!(s.dm, None, "back to the room");
    assert!(s.conversations.all().is_empty());
    assert!(s.room_state("dm-ada-bob").is_none());
    assert!(s.needs_reconnect_for_name());
}

#[test]
fn joined_role_and_removed() {
    let mut s = online_with(&[]);
    s.switch_room("team").expect("a room");
    s.handle(ServerMsg::Joined {
        room: "team".into(),
        users: vec!["ada".into()],
        head: 0,
        epoch: "e1".into(),
        users_total: None,
        with: None,
        read: 0,
        role: Some(RoomRole::Owner),
        private: true,
    });
    assert_eq!(s.current_role(), Some(RoomRole::Owner));
    assert!(s.current_private());

    let out = s.handle(ServerMsg::Removed {
        room: "team".into(),
    });
    assert!(out.is_empty(), "no leave: the server let us go");
    assert!(!s.my_rooms.contains(&"team".to_string()));
    assert_eq!(s.room, "lobby");
    assert_eq!(s.removed.as_deref(), Some("team"));
    assert!(Session::removed_sentence("team").contains("removed from #team"));
}

#[test]
fn a_group_is_kept_like_a_room_and_named_by_its_members() {
    let mut s = online_with(&[]);
    let id = "grp-0123456789abcdef0123456789abcdef";
    let out = s.add_group(id, &["ada".into(), "bob".into(), "cy".into()]);
    assert!(matches!(&out[..], [ClientMsg::Join { room, .. }] if room == id));
    assert_eq!(s.groups(), [id.to_string()]);
    assert_eq!(s.group_label(id), "bob, cy");
    assert!(s.add_group(id, &[]).is_empty(), "joined once");
}

#[test]
fn moderation_entries_are_quiet_lines_once_each() {
    let mut s = online_with(&[1]);
    let mute = banter_protocol::Change {
        room: "lobby".into(),
        seq: 2,
        target: 0,
        user: "olive".into(),
        ts: 1,
        kind: banter_protocol::ChangeKind::Mute,
        text: Some("ada".into()),
        emoji: None,
    };
    s.handle(ServerMsg::Change(mute.clone()));
    s.handle(ServerMsg::Change(mute));
    let lines = quiet_lines(s.current().expect("lobby"));
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["olive muted you"]);
    assert_eq!(lines[0].after_seq, 1);
}

#[test]
fn an_added_group_comes_into_conversations_and_is_joined_once() {
    let mut s = online_with(&[]);
    let id = "grp-00112233445566778899aabbccddeeff";
    let out = s.handle(ServerMsg::Added {
        room: id.into(),
        by: "bob".into(),
    });
    assert!(
        matches!(&out[..], [ClientMsg::Join { room, .. }] if room == id),
        "joined at once: {out:?}"
    );
    assert_eq!(s.groups(), [id.to_string()], "listed under Conversations");
    // What bob wrote before the join came is for ada: unread.
    s.handle(ServerMsg::Joined {
        room: id.into(),
        users: vec!["ada".into(), "bob".into()],
        head: 1,
        epoch: "e1".into(),
        users_total: None,
        with: None,
        read: 0,
        role: Some(RoomRole::Member),
        private: true,
    });
    s.handle(ServerMsg::Message(msg(id, 1, "bob", "hello group")));
    assert_eq!(s.room_state(id).map(|r| r.unread), Some(1));
    assert_eq!(
        s.take_added(),
        [id.to_string()],
        "the caller lists its members"
    );
    // Its members come from `GET /api/conversations`: named by them, not joined again.
    let listed = banter_protocol::http::ConversationSummary {
        room: id.into(),
        with: String::new(),
        head: 0,
        ts: 0,
        members: vec!["ada".into(), "bob".into(), "cy".into()],
    };
    assert!(s.add_conversations(&[listed]).is_empty());
    assert_eq!(s.group_label(id), "bob, cy");
    // A second `added` (another connection's, or the creator's own page) changes nothing.
    let again = s.handle(ServerMsg::Added {
        room: id.into(),
        by: "bob".into(),
    });
    assert!(again.is_empty() && s.take_added().is_empty());
    assert_eq!(s.groups().len(), 1);
}

#[test]
fn an_added_private_room_comes_into_the_rooms_and_is_joined() {
    let mut s = online_with(&[]);
    let out = s.handle(ServerMsg::Added {
        room: "team".into(),
        by: "olive".into(),
    });
    assert!(
        matches!(&out[..], [ClientMsg::Join { room, .. }] if room == "team"),
        "joined at once: {out:?}"
    );
    assert!(s.my_rooms.contains(&"team".to_string()), "in the sidebar");
    assert_eq!(s.room, "lobby", "what is on screen stays");
    assert!(s.groups().is_empty(), "a room, not a conversation");
    // Kept when the server's stored list is read before its `PUT` arrived.
    s.take_room_list(&["lobby".into()]);
    assert!(s.my_rooms.contains(&"team".to_string()));
    // The page that already has it asks nothing more.
    let mut mine = online_with(&[]);
    mine.switch_room("team").expect("a room");
    let again = mine.handle(ServerMsg::Added {
        room: "team".into(),
        by: "olive".into(),
    });
    assert!(again.is_empty() && mine.take_added().is_empty());
}

#[test]
fn owners_moderators_and_admins_may_delete_anyones_message() {
    let mut s = online_with(&[1]);
    assert!(!s.moderates_current(), "a member of a public room");
    s.admin = true;
    assert!(s.moderates_current(), "a server admin");
    s.admin = false;
    s.handle(entry(2, ChangeKind::Moderator, "ada"));
    assert!(s.moderates_current(), "made a moderator");
    s.handle(entry(3, ChangeKind::Member, "ada"));
    assert!(!s.moderates_current(), "a member again");
}

#[test]
fn private_or_public_follows_the_rooms_entries_live() {
    let mut s = online_with(&[1]);
    assert!(!s.current_private());
    s.handle(entry(2, ChangeKind::Private, ""));
    assert!(s.current_private());
    s.handle(entry(3, ChangeKind::Public, ""));
    assert!(!s.current_private(), "made public again");
    let texts: Vec<String> = quiet_lines(s.current().expect("lobby"))
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        texts,
        [
            "olive made this room private",
            "olive made this room public"
        ]
    );
}

/// Moderation entry `seq` of the lobby by olive, about `text`.
fn entry(seq: u64, kind: ChangeKind, text: &str) -> ServerMsg {
    ServerMsg::Change(banter_protocol::Change {
        room: "lobby".into(),
        seq,
        target: 0,
        user: "olive".into(),
        ts: 1,
        kind,
        text: Some(text.into()),
        emoji: None,
    })
}
