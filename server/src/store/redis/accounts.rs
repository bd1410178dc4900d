//! The account store of `--store redis`: each user a hash `banter:u:{NAME}:account` on the
//! user's shard (the shard [`super::shards::place`] gives their name); on the first shard, the
//! change counter `banter:accounts:rev`, the sorted set `banter:accounts:changes` (every user by
//! the `rev` of their last change: also the user list) and the invites (`banter:invite:{CODE}`
//! hashes, listed in the set `banter:invites`).
//!
//! Blocking calls on one plain connection per shard (made again after an error): accounts are
//! read at sign-in and by each node's change watcher, not per message.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use banter_protocol::UserRole;
use redis::{Commands, Connection, RedisResult};

use super::reads::TIMEOUT;
use super::sentinel::Endpoint;
use super::shards::{entries, place};
use crate::store::StoreError;
use crate::store::accounts::{
    AccountStore, Invite, SignupOutcome, UserChange, UserRecord, check_invite,
};

const REV: &str = "banter:accounts:rev";
const CHANGES: &str = "banter:accounts:changes";
const INVITES: &str = "banter:invites";
/// How far back [`AccountStore::changes`] looks again: two writers may add their changes to the
/// set out of `rev` order; reading a change twice does no harm.
const OVERLAP: u64 = 64;

fn user_key(name: &str) -> String {
    format!("banter:u:{{{name}}}:account")
}

fn invite_key(code: &str) -> String {
    format!("banter:invite:{{{code}}}")
}

fn failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::failed(format!("accounts: {e}"))
}

/// One shard's connection, made on first use and again after an error (also the files'
/// metadata's, `files.rs`).
pub(super) struct Shard {
    endpoint: Endpoint,
    conn: Mutex<Option<Connection>>,
}

impl Shard {
    /// The shards of a `--redis` list.
    pub(super) fn all(list: &str) -> Result<Vec<Shard>, StoreError> {
        let shards = entries(list)
            .iter()
            .map(|url| {
                Ok(Shard {
                    endpoint: Endpoint::parse(url).map_err(failed)?,
                    conn: Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if shards.is_empty() {
            return Err(StoreError::failed("--redis needs at least one URL"));
        }
        Ok(shards)
    }

    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut slot = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(self.endpoint.connect(TIMEOUT).map_err(failed)?),
        };
        let out = f(conn);
        if out.is_err() {
            *slot = None;
        }
        out.map_err(failed)
    }
}

/// See the module docs.
pub struct RedisAccounts {
    shards: Vec<Shard>,
}

fn to_fields(rec: &UserRecord) -> Vec<(&'static str, String)> {
    vec![
        ("hash", rec.hash.clone()),
        (
            "role",
            if rec.role == UserRole::Admin {
                "admin"
            } else {
                "member"
            }
            .into(),
        ),
        ("disabled", u8::from(rec.disabled).to_string()),
        ("generation", rec.generation.to_string()),
        ("valid_after", rec.valid_after.to_string()),
        ("rev", rec.rev.to_string()),
    ]
}

fn from_fields(name: &str, f: &HashMap<String, String>) -> Option<UserRecord> {
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Some(UserRecord {
        name: name.to_owned(),
        hash: f.get("hash")?.clone(),
        role: if f.get("role").map(String::as_str) == Some("admin") {
            UserRole::Admin
        } else {
            UserRole::Member
        },
        disabled: num("disabled") == 1,
        generation: num("generation"),
        valid_after: num("valid_after"),
        rev: num("rev"),
    })
}

fn invite_from(code: &str, f: &HashMap<String, String>) -> Option<Invite> {
    Some(Invite {
        code: code.to_owned(),
        expires: f.get("expires")?.parse().ok()?,
        created_by: f.get("created_by").cloned().unwrap_or_default(),
        used_by: f.get("used_by").cloned().filter(|u| !u.is_empty()),
        revoked: f.get("revoked").map(String::as_str) == Some("1"),
    })
}

impl RedisAccounts {
    /// The shards of a `--redis` list (connected on first use).
    pub fn open(list: &str) -> Result<Self, StoreError> {
        Ok(RedisAccounts {
            shards: Shard::all(list)?,
        })
    }

    fn first(&self) -> &Shard {
        &self.shards[0]
    }

    fn of(&self, name: &str) -> &Shard {
        &self.shards[place(name, self.shards.len())]
    }

    fn next_rev(&self) -> Result<u64, StoreError> {
        self.first().run(|c| c.incr(REV, 1))
    }

    /// Writes `rec` (with a fresh `rev`); with `only_new`, only if the user does not exist.
    fn write(&self, mut rec: UserRecord, only_new: bool) -> Result<bool, StoreError> {
        rec.rev = self.next_rev()?;
        let key = user_key(&rec.name);
        let written = self.of(&rec.name).run(|c| {
            if only_new {
                // HSETNX on the hash field first: of two sign-ups for one name, one wins.
                let won: bool = c.hset_nx(&key, "hash", &rec.hash)?;
                if !won {
                    return Ok(false);
                }
            }
            c.hset_multiple::<_, _, _, ()>(&key, &to_fields(&rec))?;
            Ok(true)
        })?;
        if written {
            self.first()
                .run(|c| c.zadd::<_, _, _, ()>(CHANGES, &rec.name, rec.rev))?;
        }
        Ok(written)
    }

    fn read_invite(&self, code: &str) -> Result<Option<Invite>, StoreError> {
        let f: HashMap<String, String> = self.first().run(|c| c.hgetall(invite_key(code)))?;
        Ok(invite_from(code, &f))
    }
}

impl AccountStore for RedisAccounts {
    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let f: HashMap<String, String> = self.of(name).run(|c| c.hgetall(user_key(name)))?;
        Ok(from_fields(name, &f))
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut names: Vec<String> = self.first().run(|c| c.zrange(CHANGES, 0, -1))?;
        names.sort();
        let mut out = Vec::new();
        for n in names {
            out.extend(self.user(&n)?);
        }
        Ok(out)
    }

    fn add_user(&self, rec: UserRecord) -> Result<bool, StoreError> {
        self.write(rec, true)
    }

    fn change_user(
        &self,
        name: &str,
        change: &UserChange,
        now: u64,
    ) -> Result<Option<UserRecord>, StoreError> {
        let Some(mut rec) = self.user(name)? else {
            return Ok(None);
        };
        change.apply(&mut rec, now);
        self.write(rec, false)?;
        self.user(name)
    }

    fn signup(&self, code: &str, rec: UserRecord, now: u64) -> Result<SignupOutcome, StoreError> {
        if let Err(refused) = check_invite(self.read_invite(code)?.as_ref(), now) {
            return Ok(refused);
        }
        // Claimed first, atomically: of two sign-ups with one code, one wins.
        let key = invite_key(code);
        let claimed: bool = self
            .first()
            .run(|c| c.hset_nx(&key, "used_by", &rec.name))?;
        if !claimed {
            return Ok(SignupOutcome::UsedInvite);
        }
        let name = rec.name.clone();
        if !self.write(rec, true)? {
            // The name was taken: the code stays usable.
            self.first().run(|c| c.hdel::<_, _, ()>(&key, "used_by"))?;
            return Ok(SignupOutcome::NameTaken);
        }
        tracing::debug!(user = name, "signed up with an invite");
        Ok(SignupOutcome::Created)
    }

    fn add_invite(&self, i: Invite) -> Result<(), StoreError> {
        let key = invite_key(&i.code);
        self.first().run(|c| {
            c.hset_multiple::<_, _, _, ()>(
                &key,
                &[
                    ("expires", i.expires.to_string()),
                    ("created_by", i.created_by.clone()),
                    ("revoked", u8::from(i.revoked).to_string()),
                ],
            )?;
            c.sadd::<_, _, ()>(INVITES, &i.code)
        })
    }

    fn invites(&self) -> Result<Vec<Invite>, StoreError> {
        let codes: Vec<String> = self.first().run(|c| c.smembers(INVITES))?;
        let mut out = Vec::new();
        for code in codes {
            out.extend(self.read_invite(&code)?);
        }
        out.sort_by_key(|i| std::cmp::Reverse(i.expires));
        Ok(out)
    }

    fn revoke_invite(&self, code: &str) -> Result<bool, StoreError> {
        if self.read_invite(code)?.is_none() {
            return Ok(false);
        }
        self.first()
            .run(|c| c.hset::<_, _, _, ()>(invite_key(code), "revoked", "1"))?;
        Ok(true)
    }

    fn changes(&self, rev: u64) -> Result<Vec<UserRecord>, StoreError> {
        let from = rev.saturating_sub(OVERLAP);
        let names: Vec<String> = self
            .first()
            .run(|c| c.zrangebyscore(CHANGES, format!("({from}"), "+inf"))?;
        let mut out = Vec::new();
        for n in names {
            out.extend(self.user(&n)?);
        }
        out.sort_by_key(|u| u.rev);
        Ok(out)
    }
}
