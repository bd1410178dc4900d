//! What every `AccountStore` promises (memory, a real SQLite file, a real `redis-server`): names
//! are unique, a change that ends sessions bumps the generation, `changes` returns what changed
//! after a `rev`, and an invite is used once, not after it expires or is revoked.

use banter_protocol::UserRole;
use banter_server::store::Settings;
use banter_server::store::accounts::{
    AccountStore, Invite, MemoryAccounts, SignupOutcome, UserChange, UserRecord, open,
};
use banter_testkit::{Persistence, Redis};

fn user(name: &str) -> UserRecord {
    UserRecord {
        name: name.into(),
        hash: format!("$argon2id$fake${name}"),
        role: UserRole::Member,
        disabled: false,
        generation: 0,
        valid_after: 0,
        rev: 0,
    }
}

fn invite(code: &str, expires: u64) -> Invite {
    Invite {
        code: code.into(),
        expires,
        created_by: "root".into(),
        used_by: None,
        revoked: false,
    }
}

fn contract(s: &dyn AccountStore) {
    assert!(s.add_user(user("ada")).unwrap());
    assert!(!s.add_user(user("ada")).unwrap(), "names are unique");
    assert!(s.add_user(user("bob")).unwrap());
    let seen = s.changes(0).unwrap();
    assert_eq!(
        seen.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["ada", "bob"]
    );
    let mark = seen.iter().map(|u| u.rev).max().unwrap();

    let changed = s
        .change_user("ada", &UserChange::Password("$argon2id$new".into()), 1000)
        .unwrap()
        .unwrap();
    assert_eq!((changed.generation, changed.valid_after), (1, 1000));
    assert_eq!(changed.hash, "$argon2id$new");
    let role = s
        .change_user("ada", &UserChange::Role(UserRole::Admin), 1001)
        .unwrap()
        .unwrap();
    assert_eq!(
        (role.generation, role.role),
        (1, UserRole::Admin),
        "a role change ends nothing"
    );
    let off = s
        .change_user("bob", &UserChange::Disabled(true), 1002)
        .unwrap()
        .unwrap();
    assert!(off.disabled && off.generation == 1);
    assert!(
        s.change_user("nobody", &UserChange::SignOutEverywhere, 0)
            .unwrap()
            .is_none()
    );
    let after: Vec<String> = s
        .changes(mark)
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert!(after.contains(&"ada".to_string()) && after.contains(&"bob".to_string()));
    assert_eq!(s.user("ada").unwrap().unwrap().role, UserRole::Admin);
    assert_eq!(s.users().unwrap().len(), 2);

    s.add_invite(invite("good", 2000)).unwrap();
    s.add_invite(invite("old", 10)).unwrap();
    s.add_invite(invite("gone", 2000)).unwrap();
    assert!(s.revoke_invite("gone").unwrap());
    assert!(!s.revoke_invite("never").unwrap());
    let at = 1500;
    assert_eq!(
        s.signup("good", user("ada"), at).unwrap(),
        SignupOutcome::NameTaken
    );
    assert_eq!(
        s.signup("good", user("cy"), at).unwrap(),
        SignupOutcome::Created
    );
    assert_eq!(
        s.signup("good", user("di"), at).unwrap(),
        SignupOutcome::UsedInvite
    );
    assert_eq!(
        s.signup("old", user("di"), at).unwrap(),
        SignupOutcome::ExpiredInvite
    );
    assert_eq!(
        s.signup("gone", user("di"), at).unwrap(),
        SignupOutcome::BadInvite
    );
    assert_eq!(
        s.signup("never", user("di"), at).unwrap(),
        SignupOutcome::BadInvite
    );
    assert!(s.user("di").unwrap().is_none());
    let listed = s.invites().unwrap();
    assert_eq!(listed.len(), 3);
    let good = listed.iter().find(|i| i.code == "good").unwrap();
    assert_eq!(good.used_by.as_deref(), Some("cy"));
}

#[test]
fn memory() {
    contract(&MemoryAccounts::default());
}

#[test]
fn sqlite_file_shared_by_two_connections() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::new("sqlite", dir.path().to_owned());
    let first = open(&settings).unwrap();
    contract(&*first);
    // A second process's view (banter user beside the server): the same users.
    let second = open(&settings).unwrap();
    assert_eq!(second.users().unwrap().len(), 3);
}

#[test]
fn redis() {
    let redis = Redis::start(Persistence::Off);
    let mut settings = Settings::new("redis", std::env::temp_dir());
    settings.redis_url = Some(redis.url());
    contract(&*open(&settings).unwrap());
}
