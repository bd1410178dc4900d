//! The store contract's promises about what users and rooms keep besides messages (v1.2): Web
//! Push keys, subscriptions and settings; a user's room list; private rooms' members, roles,
//! bans and mutes; moderation entries among messages.

use super::*;

/// v1.2 push: the VAPID key is made once (a second node's fresh key is ignored) and survives a
/// reopen of a durable store; subscriptions are per user and endpoint, capped, removable; the
/// settings default to previews on and nothing muted.
pub async fn push_keys_subscriptions_and_settings_are_kept(b: Backend) {
    use banter_protocol::http::{PushKeys, PushSettings, PushSubscription};
    let store = b.open();
    let first = store.push(|p| p.vapid_key(&[7; 32])).await.expect("key");
    assert_eq!(first, [7; 32]);
    let again = store.push(|p| p.vapid_key(&[9; 32])).await.expect("key");
    assert_eq!(again, first, "made once");
    let sub = |endpoint: &str| PushSubscription {
        endpoint: endpoint.into(),
        expiration_time: None,
        keys: PushKeys {
            p256dh: "BPk".into(),
            auth: "YXV0aA".into(),
        },
    };
    let (a, b2, c) = (sub("https://p/a"), sub("https://p/b"), sub("https://p/c"));
    let (a2, b3, c2) = (a.clone(), b2.clone(), c.clone());
    let stored = store
        .push(move |p| {
            Ok((
                p.subscribe("ada", &a2, 2)?,
                p.subscribe("ada", &b3, 2)?,
                p.subscribe("ada", &c2, 2)?,
                p.subscribe("ada", &a2, 2)?,
            ))
        })
        .await
        .expect("subscribe");
    assert_eq!(
        stored,
        (true, true, false, true),
        "two at most; a repeat replaces"
    );
    let mut held = store.push(|p| p.subscriptions("ada")).await.expect("subs");
    held.sort_by(|x, y| x.endpoint.cmp(&y.endpoint));
    assert_eq!(held, [a.clone(), b2.clone()]);
    assert!(
        store
            .push(|p| p.subscriptions("bob"))
            .await
            .unwrap()
            .is_empty()
    );
    let gone = store
        .push(|p| {
            Ok((
                p.unsubscribe("ada", "https://p/a")?,
                p.unsubscribe("ada", "https://p/a")?,
            ))
        })
        .await
        .expect("unsubscribe");
    assert_eq!(gone, (true, false));

    let defaults = store.push(|p| p.settings("ada")).await.expect("settings");
    assert_eq!(defaults, PushSettings::default());
    store
        .push(|p| {
            p.set_previews("ada", false)?;
            p.set_muted("ada", "ops", true)?;
            p.set_muted("ada", "dev", true)?;
            p.set_muted("ada", "dev", false)
        })
        .await
        .expect("set");
    let want = PushSettings {
        previews: false,
        muted: vec!["ops".into()],
    };
    assert_eq!(store.push(|p| p.settings("ada")).await.unwrap(), want);
    assert_eq!(
        store.push(|p| p.settings("bob")).await.unwrap(),
        PushSettings::default()
    );
    if b.durable {
        let store = b.reopen(store);
        assert_eq!(store.push(|p| p.vapid_key(&[1; 32])).await.unwrap(), first);
        assert_eq!(store.push(|p| p.settings("ada")).await.unwrap(), want);
        let held = store.push(|p| p.subscriptions("ada")).await.unwrap();
        assert_eq!(held, [b2]);
    }
}

/// A user's room list keeps each room once, in the order put there; a room taken off is gone;
/// each user has their own; a durable store keeps the lists across a reopen.
pub async fn a_room_list_keeps_its_order_and_each_room_once(b: Backend) {
    let store = b.open();
    for room in ["ops", "lobby", "design", "ops"] {
        store.set_room("ada", room, true).await.expect("stored");
    }
    store.set_room("ada", "lobby", false).await.expect("stored");
    store
        .set_room("ada", "nowhere", false)
        .await
        .expect("stored");
    store.set_room("bob", "lobby", true).await.expect("stored");
    assert_eq!(
        store.rooms_of("ada").await.expect("read"),
        ["ops", "design"]
    );
    assert_eq!(store.rooms_of("bob").await.expect("read"), ["lobby"]);
    assert!(store.rooms_of("cy").await.expect("read").is_empty());
    let store = b.reopen(store);
    let kept = store.rooms_of("ada").await.expect("read");
    if b.durable {
        assert_eq!(kept, ["ops", "design"], "kept across a reopen");
    }
}

fn standing(role: Option<RoomRole>, muted: bool, banned: bool) -> store::Standing {
    store::Standing {
        role,
        muted,
        banned,
    }
}

pub async fn room_members_roles_bans_and_mutes_survive_a_reopen(b: Backend) {
    let store = b.open();
    assert!(store.create_room("ops", true).await.expect("created"));
    assert!(
        !store.create_room("ops", false).await.expect("answered"),
        "once"
    );
    assert!(store.create_room("town", false).await.expect("created"));
    let owner = standing(Some(RoomRole::Owner), false, false);
    let muted = standing(Some(RoomRole::Member), true, false);
    let banned = standing(None, false, true);
    store.set_standing("ops", "ada", owner).await.expect("set");
    store.set_standing("ops", "bob", muted).await.expect("set");
    store.set_standing("ops", "cy", owner).await.expect("set");
    store
        .set_standing("ops", "cy", store::Standing::default())
        .await
        .expect("forgot");
    store
        .set_standing("town", "eve", banned)
        .await
        .expect("set");
    let store = if b.durable { b.reopen(store) } else { store };
    let ops = store.access("ops").await.expect("read");
    assert!(ops.private && ops.created);
    assert_eq!(ops.users.get("ada"), Some(&owner));
    assert_eq!(ops.users.get("bob"), Some(&muted));
    assert_eq!(ops.users.get("cy"), None, "the default standing forgets");
    let town = store.access("town").await.expect("read");
    assert!(!town.private && town.created);
    assert_eq!(town.users.get("eve"), Some(&banned));
    let never = store.access("never").await.expect("read");
    assert!(!never.private && !never.created && never.users.is_empty());
    let mut hidden = store.hidden_from("eve").await.expect("read");
    hidden.sort();
    assert_eq!(hidden, ["ops", "town"]);
    assert!(store.hidden_from("bob").await.expect("read").is_empty());
    assert_eq!(store.private_rooms_of("bob").await.expect("read"), ["ops"]);
    assert!(
        store
            .private_rooms_of("eve")
            .await
            .expect("read")
            .is_empty()
    );
    // A room switched (v1.2, `PATCH /api/rooms/{room}`): private, then public again.
    store.set_private("town", true).await.expect("private");
    store.set_private("ops", false).await.expect("public");
    store
        .set_private("new", true)
        .await
        .expect("a room never created");
    let store = if b.durable { b.reopen(store) } else { store };
    assert!(store.access("town").await.expect("read").private);
    assert!(!store.access("ops").await.expect("read").private);
    let new = store.access("new").await.expect("read");
    assert!(new.private && new.created);
    let mut hidden = store.hidden_from("bob").await.expect("read");
    hidden.sort();
    assert_eq!(hidden, ["new", "town"], "bob has no role in either");
    assert!(
        store
            .private_rooms_of("bob")
            .await
            .expect("read")
            .is_empty()
    );
}

fn moderation(user: &str, kind: ChangeKind, subject: &str) -> NewMessage {
    let mut m = change_of(user, 0, kind, subject, "");
    if let Some(c) = &mut m.change {
        c.moderator = true;
    }
    m
}

pub async fn moderation_entries_take_gap_free_seqs(b: Backend) {
    let store = b.open();
    let mut waits = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        waits.push(tokio::spawn(async move {
            let m = if i % 2 == 0 {
                message("r", "ada", &format!("m{i}"), None)
            } else {
                moderation("ada", ChangeKind::Mute, &format!("u{i}"))
            };
            append(&s, m).await.expect("stored").stored.seq()
        }));
    }
    let mut got = Vec::new();
    for w in waits {
        got.push(w.await.expect("joined"));
    }
    got.sort_unstable();
    assert_eq!(got, (1..=20).collect::<Vec<u64>>(), "gap-free, each once");
    let (msgs, changes) = state(&store).await;
    assert_eq!((msgs.len(), changes.len()), (10, 10));
    for c in &changes {
        assert_eq!(
            (c.kind, c.target, c.user.as_str()),
            (ChangeKind::Mute, 0, "ada")
        );
        assert!(
            c.text.as_deref().is_some_and(|t| t.starts_with('u')),
            "{c:?}"
        );
    }
    let store = if b.durable { b.reopen(store) } else { store };
    let next = append(&store, moderation("ada", ChangeKind::Ban, "eve"))
        .await
        .expect("stored");
    let Entry::Change(c) = &next.stored.entry else {
        panic!("a change entry")
    };
    if b.durable {
        assert_eq!(c.seq, 21);
    }
    assert_eq!((c.kind, c.text.as_deref()), (ChangeKind::Ban, Some("eve")));
}
