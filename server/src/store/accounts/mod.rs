//! [`AccountStore`]: where `--auth accounts` keeps its users and invites, beside the messages of
//! the same store (`--store sqlite`: tables in `banter.db`; `memory`; `redis`: keys on the
//! user's shard). One small trait, because `banter user ...` opens it too, as a second process
//! beside a running server: [`open`] needs only the store's [`Settings`], not the server.
//!
//! Every change to a user gets the next value of one store-wide counter (`rev`): a node learns
//! what other processes changed (a `banter user disable` beside it, another node of a cluster)
//! by asking for the users changed after the last `rev` it saw ([`AccountStore::changes`]).
//!
//! Files: `memory.rs`, `sqlite.rs` (the two local backends); the Redis one is
//! `store/redis/accounts.rs` (it reuses the Redis store's connection code).

mod memory;
mod sqlite;

use std::sync::Arc;

use banter_protocol::UserRole;

use super::{Settings, StoreError};

pub use memory::MemoryAccounts;
pub use sqlite::SqliteAccounts;

/// A user as the store keeps them. The hash is a PHC string (`$argon2id$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub hash: String,
    pub role: UserRole,
    pub disabled: bool,
    /// Bumped by every change that ends sessions (password, disable, sign out everywhere):
    /// tokens carry the generation they were issued in.
    pub generation: u64,
    /// Tokens without a generation (`banter token`) issued at or before this second are refused
    /// for this user (seconds since the Unix epoch; 0 = none).
    pub valid_after: u64,
    /// The store-wide change counter when this record last changed.
    pub rev: u64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hash.
        f.debug_struct("UserRecord")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A change to a user.
#[derive(Clone, PartialEq, Eq)]
pub enum UserChange {
    /// A new password hash: ends every session.
    Password(String),
    /// Disabled (ends every session) or enabled again.
    Disabled(bool),
    Role(UserRole),
    /// Ends every session, nothing else.
    SignOutEverywhere,
}

impl UserChange {
    /// Whether the change ends the user's sessions.
    pub fn revokes(&self) -> bool {
        matches!(
            self,
            UserChange::Password(_) | UserChange::Disabled(true) | UserChange::SignOutEverywhere
        )
    }

    /// Applies the change to `rec` (not its `rev`), at `now` seconds.
    pub fn apply(&self, rec: &mut UserRecord, now: u64) {
        match self {
            UserChange::Password(h) => rec.hash.clone_from(h),
            UserChange::Disabled(d) => rec.disabled = *d,
            UserChange::Role(r) => rec.role = *r,
            UserChange::SignOutEverywhere => {}
        }
        if self.revokes() {
            rec.generation += 1;
            rec.valid_after = now;
        }
    }
}

/// An invite code: single use, until it expires or is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub code: String,
    /// Seconds since the Unix epoch.
    pub expires: u64,
    pub created_by: String,
    /// Who signed up with it.
    pub used_by: Option<String>,
    pub revoked: bool,
}

/// What [`AccountStore::signup`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOutcome {
    Created,
    /// No such invite, or revoked.
    BadInvite,
    UsedInvite,
    ExpiredInvite,
    NameTaken,
}

/// See the module docs. Every method may block: the server calls them off the async workers.
pub trait AccountStore: Send + Sync + 'static {
    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Every user, by name.
    fn users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Adds `rec` (its `rev` is assigned); `false` when the name is taken.
    fn add_user(&self, rec: UserRecord) -> Result<bool, StoreError>;

    /// Applies `change` at `now`; the new record, or `None` for an unknown user.
    fn change_user(
        &self,
        name: &str,
        change: &UserChange,
        now: u64,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// Uses invite `code` (at `now`) to add `rec`, both or neither.
    fn signup(&self, code: &str, rec: UserRecord, now: u64) -> Result<SignupOutcome, StoreError>;

    fn add_invite(&self, invite: Invite) -> Result<(), StoreError>;

    /// Every invite, newest expiry first.
    fn invites(&self) -> Result<Vec<Invite>, StoreError>;

    /// `false` when there is no such invite.
    fn revoke_invite(&self, code: &str) -> Result<bool, StoreError>;

    /// The users changed after `rev`, by `rev` ascending.
    fn changes(&self, rev: u64) -> Result<Vec<UserRecord>, StoreError>;
}

/// A shared account store.
pub type SharedAccounts = Arc<dyn AccountStore>;

/// The account store of the store `settings` names: for SQLite the same `banter.db` (created if
/// missing), for Redis the same shards, for memory a new, empty one.
pub fn open(settings: &Settings) -> Result<SharedAccounts, StoreError> {
    let kind = if settings.redis_url.is_some() {
        "redis"
    } else {
        settings.kind.as_str()
    };
    Ok(match kind {
        "sqlite" => Arc::new(SqliteAccounts::open(&settings.data_dir)?),
        "redis" => Arc::new(super::redis::accounts::RedisAccounts::open(
            settings.redis_url.as_deref().unwrap_or_default(),
        )?),
        _ => Arc::new(MemoryAccounts::default()),
    })
}

/// What an invite check says at `now` (shared by the backends).
pub fn check_invite(invite: Option<&Invite>, now: u64) -> Result<(), SignupOutcome> {
    match invite {
        None => Err(SignupOutcome::BadInvite),
        Some(i) if i.revoked => Err(SignupOutcome::BadInvite),
        Some(i) if i.used_by.is_some() => Err(SignupOutcome::UsedInvite),
        Some(i) if i.expires <= now => Err(SignupOutcome::ExpiredInvite),
        Some(_) => Ok(()),
    }
}
