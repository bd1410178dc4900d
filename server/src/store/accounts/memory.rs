//! The account store of `--store memory`: users and invites in this process, gone at exit.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{AccountStore, Invite, SignupOutcome, UserChange, UserRecord, check_invite};
use crate::store::StoreError;

/// See the module docs.
#[derive(Default)]
pub struct MemoryAccounts {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: BTreeMap<String, UserRecord>,
    invites: BTreeMap<String, Invite>,
    rev: u64,
}

impl Inner {
    fn insert(&mut self, mut rec: UserRecord) -> bool {
        if self.users.contains_key(&rec.name) {
            return false;
        }
        self.rev += 1;
        rec.rev = self.rev;
        self.users.insert(rec.name.clone(), rec);
        true
    }
}

impl MemoryAccounts {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AccountStore for MemoryAccounts {
    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.lock().users.get(name).cloned())
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Ok(self.lock().users.values().cloned().collect())
    }

    fn add_user(&self, rec: UserRecord) -> Result<bool, StoreError> {
        Ok(self.lock().insert(rec))
    }

    fn change_user(
        &self,
        name: &str,
        change: &UserChange,
        now: u64,
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut inner = self.lock();
        inner.rev += 1;
        let rev = inner.rev;
        Ok(inner.users.get_mut(name).map(|rec| {
            change.apply(rec, now);
            rec.rev = rev;
            rec.clone()
        }))
    }

    fn signup(&self, code: &str, rec: UserRecord, now: u64) -> Result<SignupOutcome, StoreError> {
        let mut inner = self.lock();
        if let Err(refused) = check_invite(inner.invites.get(code), now) {
            return Ok(refused);
        }
        let name = rec.name.clone();
        if !inner.insert(rec) {
            return Ok(SignupOutcome::NameTaken);
        }
        if let Some(i) = inner.invites.get_mut(code) {
            i.used_by = Some(name);
        }
        Ok(SignupOutcome::Created)
    }

    fn add_invite(&self, invite: Invite) -> Result<(), StoreError> {
        self.lock().invites.insert(invite.code.clone(), invite);
        Ok(())
    }

    fn invites(&self) -> Result<Vec<Invite>, StoreError> {
        let mut all: Vec<Invite> = self.lock().invites.values().cloned().collect();
        all.sort_by_key(|i| std::cmp::Reverse(i.expires));
        Ok(all)
    }

    fn revoke_invite(&self, code: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .invites
            .get_mut(code)
            .map(|i| i.revoked = true)
            .is_some())
    }

    fn changes(&self, rev: u64) -> Result<Vec<UserRecord>, StoreError> {
        let mut out: Vec<UserRecord> = self
            .lock()
            .users
            .values()
            .filter(|u| u.rev > rev)
            .cloned()
            .collect();
        out.sort_by_key(|u| u.rev);
        Ok(out)
    }
}
