//! [`PushStore`]: what Web Push needs kept (v1.2 "Notifications"): the server's VAPID key,
//! made once and shared by every node; each user's push subscriptions (one per browser, by
//! endpoint); and each user's notification settings (previews on or off, muted rooms), which
//! hold for all their devices.
//!
//! Every call may block (disk, network): the server calls them on the blocking pool (see
//! `crate::push`), never on the posting path. [`MemoryPush`] keeps them in this process only:
//! the memory store's, and the default of a [`super::Store`] built without one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use banter_protocol::http::{PushSettings, PushSubscription};

use super::StoreError;

/// See the module docs.
pub trait PushStore: Send + Sync + 'static {
    /// The stored VAPID private key (a P-256 scalar, 32 bytes); when there is none yet,
    /// `fresh` is stored and returned. Two nodes asking at once get the same key.
    fn vapid_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Keeps `sub` for `user` (replacing one with the same endpoint). `false` when the user
    /// already has `max` other subscriptions (nothing is stored).
    fn subscribe(&self, user: &str, sub: &PushSubscription, max: usize)
    -> Result<bool, StoreError>;

    /// Forgets `user`'s subscription with this endpoint; whether there was one.
    fn unsubscribe(&self, user: &str, endpoint: &str) -> Result<bool, StoreError>;

    /// `user`'s subscriptions.
    fn subscriptions(&self, user: &str) -> Result<Vec<PushSubscription>, StoreError>;

    /// `user`'s settings (the defaults when none were saved).
    fn settings(&self, user: &str) -> Result<PushSettings, StoreError>;

    /// Turns previews on or off for `user`.
    fn set_previews(&self, user: &str, previews: bool) -> Result<(), StoreError>;

    /// Mutes (`muted`) or unmutes `room` for `user`.
    fn set_muted(&self, user: &str, room: &str, muted: bool) -> Result<(), StoreError>;
}

/// Subscriptions, settings and the key kept in memory, lost when the process stops.
#[derive(Default)]
pub struct MemoryPush {
    inner: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    key: Option<Vec<u8>>,
    subs: HashMap<String, BTreeMap<String, PushSubscription>>,
    previews_off: BTreeSet<String>,
    muted: HashMap<String, BTreeSet<String>>,
}

impl MemoryPush {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PushStore for MemoryPush {
    fn vapid_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self
            .lock()
            .key
            .get_or_insert_with(|| fresh.to_vec())
            .clone())
    }

    fn subscribe(
        &self,
        user: &str,
        sub: &PushSubscription,
        max: usize,
    ) -> Result<bool, StoreError> {
        let mut held = self.lock();
        let subs = held.subs.entry(user.to_owned()).or_default();
        if !subs.contains_key(&sub.endpoint) && subs.len() >= max {
            return Ok(false);
        }
        subs.insert(sub.endpoint.clone(), sub.clone());
        Ok(true)
    }

    fn unsubscribe(&self, user: &str, endpoint: &str) -> Result<bool, StoreError> {
        let mut held = self.lock();
        let Some(subs) = held.subs.get_mut(user) else {
            return Ok(false);
        };
        let had = subs.remove(endpoint).is_some();
        if subs.is_empty() {
            held.subs.remove(user);
        }
        Ok(had)
    }

    fn subscriptions(&self, user: &str) -> Result<Vec<PushSubscription>, StoreError> {
        Ok(self
            .lock()
            .subs
            .get(user)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default())
    }

    fn settings(&self, user: &str) -> Result<PushSettings, StoreError> {
        let held = self.lock();
        Ok(PushSettings {
            previews: !held.previews_off.contains(user),
            muted: held
                .muted
                .get(user)
                .map(|m| m.iter().cloned().collect())
                .unwrap_or_default(),
        })
    }

    fn set_previews(&self, user: &str, previews: bool) -> Result<(), StoreError> {
        let mut held = self.lock();
        if previews {
            held.previews_off.remove(user);
        } else {
            held.previews_off.insert(user.to_owned());
        }
        Ok(())
    }

    fn set_muted(&self, user: &str, room: &str, muted: bool) -> Result<(), StoreError> {
        let mut held = self.lock();
        let rooms = held.muted.entry(user.to_owned()).or_default();
        if muted {
            rooms.insert(room.to_owned());
        } else {
            rooms.remove(room);
        }
        if rooms.is_empty() {
            held.muted.remove(user);
        }
        Ok(())
    }
}
