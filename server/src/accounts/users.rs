//! What this node knows of every account, to check tokens without a store read: each user's
//! generation, whether they are disabled, and since when tokens without a generation count
//! ([`UserCache`]); and the watcher that keeps it current with changes made elsewhere
//! (`banter user ...` beside the server, another node of a cluster), ending the sessions they
//! revoke on this node.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::store::accounts::{SharedAccounts, UserRecord};

/// What a token check needs of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub generation: u64,
    pub disabled: bool,
    pub valid_after: u64,
    /// v1.2: a server admin (may do everything in every room: see `crate::rooms::access`).
    pub admin: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct UserCache {
    users: RwLock<HashMap<String, Standing>>,
    /// The highest `rev` seen.
    rev: std::sync::atomic::AtomicU64,
}

impl UserCache {
    pub fn get(&self, name: &str) -> Option<Standing> {
        self.users
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .copied()
    }

    /// Takes in `rec`; `true` when it revokes sessions this cache allowed until now (a higher
    /// generation, or newly disabled).
    pub fn apply(&self, rec: &UserRecord) -> bool {
        use std::sync::atomic::Ordering;
        self.rev.fetch_max(rec.rev, Ordering::AcqRel);
        let new = Standing {
            generation: rec.generation,
            disabled: rec.disabled,
            valid_after: rec.valid_after,
            admin: rec.role == banter_protocol::UserRole::Admin,
        };
        let mut users = self
            .users
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = users.get(&rec.name).copied();
        match old {
            Some(o) if o.generation > new.generation => false,
            _ => {
                users.insert(rec.name.clone(), new);
                old.is_some_and(|o| new.generation > o.generation || (new.disabled && !o.disabled))
            }
        }
    }

    /// Whether `name` is an enabled server admin.
    pub fn is_admin(&self, name: &str) -> bool {
        self.get(name).is_some_and(|s| s.admin && !s.disabled)
    }

    pub fn rev(&self) -> u64 {
        self.rev.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Takes `rec` into the cache and, when it revokes sessions, closes the user's connections on
/// this node with 4001.
pub fn take_in(cache: &UserCache, hub: &Hub, rec: &UserRecord) {
    if cache.apply(rec) {
        let closed = hub.revoke_user(&rec.name);
        if closed > 0 {
            tracing::info!(
                user = rec.name,
                closed,
                "sessions revoked: connections closed"
            );
        }
    }
}

/// Every `period`, reads the users changed since the last look and takes them in.
pub fn watch(
    store: SharedAccounts,
    cache: Arc<UserCache>,
    hub: Hub,
    period: Duration,
    stop: CancellationToken,
) {
    let period = period.max(Duration::from_millis(10));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let (s, since) = (store.clone(), cache.rev());
            let changed = tokio::task::spawn_blocking(move || s.changes(since)).await;
            match changed {
                Ok(Ok(list)) => {
                    failing = false;
                    for rec in &list {
                        take_in(&cache, &hub, rec);
                    }
                }
                Ok(Err(e)) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cannot read account changes (retrying)");
                }
                _ => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use banter_protocol::UserRole;

    fn rec(generation: u64, disabled: bool) -> UserRecord {
        UserRecord {
            name: "ada".into(),
            hash: String::new(),
            role: UserRole::Member,
            disabled,
            generation,
            valid_after: 0,
            rev: generation + 1,
        }
    }

    #[test]
    fn only_a_newer_generation_or_disabling_revokes() {
        let c = UserCache::default();
        assert!(
            !c.apply(&rec(0, false)),
            "a new user has no sessions to end"
        );
        assert!(!c.apply(&rec(0, false)), "the same record again");
        assert!(c.apply(&rec(1, false)));
        assert!(!c.apply(&rec(0, false)), "an older record is ignored");
        assert_eq!(c.get("ada").unwrap().generation, 1);
        assert!(c.apply(&rec(1, true)));
        assert_eq!(c.rev(), 2);
    }
}
