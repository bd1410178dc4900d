//! The life of Redis's data: a token that changes whenever Redis may have lost writes it
//! answered, so that no room's `seq` is ever reused under an epoch a client saw.
//!
//! Redis can roll back: a restart from an RDB snapshot, a crash with `appendfsync everysec`, a
//! failover to an asynchronous replica. The data that comes back is a consistent older state,
//! so nothing in it can tell that it is old; what changes is the Redis *process* (its `run_id`).
//! The key [`LIFE`] holds `run_id nonce durable`: the process that last confirmed the data, the
//! life's nonce, and whether that process wrote every answered write to disk first (AOF with
//! `appendfsync always`, as the nodes read with `CONFIG GET`). When a script finds another
//! process than the recorded one, the data lives on (same nonce) only if the recorded process
//! was durable, the new one loaded from its AOF (`aof_enabled:1`) and was not promoted from a
//! replica (`master_replid2` all zeros); otherwise the nonce is renewed (a hash of the old one
//! and the new `run_id`, so every script that looks computes the same one without writing).
//!
//! A room keeps its epoch with the nonce it was confirmed under (`…:epoch` = `epoch nonce`);
//! under another nonce its epoch is renewed the same way (a hash of the old epoch and the new
//! nonce), so a room that came back from a snapshot continues under a new epoch, on every node,
//! whether or not any node had it loaded: resuming clients are told `complete: false`.
//!
//! Only posts write the renewal ([`REFRESH`] runs at the head of every post pipeline, as an
//! `EVAL`, so it never misses a restarted Redis's empty script cache); reads compute it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::conn::Conn;

/// The key holding the current life (see the module docs).
pub const LIFE: &str = "banter:life";

/// How often a node re-reads Redis's persistence settings.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Lua (`life.lua`): `life(key)` returns the current life's nonce (or `nil` when none is recorded), the
/// `run_id` of this Redis process, and whether the record is out of date. `epoch_of(rec, room,
/// nonce)` is a room's epoch under that nonce. Prepended to every script that reads a room.
macro_rules! life_lua {
    () => {
        include_str!("life.lua")
    };
}
pub(super) use life_lua;

/// KEYS: [`LIFE`]. ARGV: a fresh nonce (used when no life is recorded), `1` if this node sees
/// Redis as durable (AOF, `appendfsync always`) else `0`. Writes the current life when it is
/// out of date; returns its nonce.
pub const REFRESH: &str = concat!(life_lua!(), include_str!("refresh.lua"));

/// This node's view of whether Redis writes every answered write to disk first, re-read every
/// [`CHECK_EVERY`]. Unknown (no answer, `CONFIG` disabled) counts as not durable: a restart
/// then always starts a new life.
#[derive(Clone, Default)]
pub struct Durable(Arc<AtomicBool>);

impl Durable {
    /// Reads it once now (blocking), then keeps it fresh on `runtime`.
    pub fn start(runtime: &tokio::runtime::Handle, mut conn: Conn, now: Option<bool>) -> Self {
        let durable = Durable::default();
        durable.0.store(now.unwrap_or(false), Ordering::Relaxed);
        let d = durable.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(CHECK_EVERY);
            loop {
                tick.tick().await;
                if let Ok(pairs) = config_get().query_async::<Vec<String>>(&mut conn).await {
                    d.0.store(is_durable(&pairs), Ordering::Relaxed);
                }
            }
        });
        durable
    }

    /// Takes what Redis said now (`None`: it did not say; the view is kept).
    pub fn set(&self, now: Option<bool>) {
        if let Some(d) = now {
            self.0.store(d, Ordering::Relaxed);
        }
    }

    /// `"1"` or `"0"`, as [`REFRESH`] takes it.
    pub fn flag(&self) -> &'static str {
        if self.0.load(Ordering::Relaxed) {
            "1"
        } else {
            "0"
        }
    }
}

/// `CONFIG GET appendonly appendfsync`.
pub fn config_get() -> redis::Cmd {
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET").arg("appendonly").arg("appendfsync");
    cmd
}

/// Whether `CONFIG GET`'s reply (name, value pairs) says AOF with `appendfsync always`.
pub fn is_durable(pairs: &[String]) -> bool {
    let get = |name: &str| {
        pairs
            .chunks(2)
            .find(|p| p[0] == name)
            .and_then(|p| p.get(1))
            .map(String::as_str)
    };
    get("appendonly") == Some("yes") && get("appendfsync") == Some("always")
}

/// The [`REFRESH`] command: `EVAL` with its source, so it runs even on an empty script cache.
pub fn refresh(durable: &Durable) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(REFRESH)
        .arg(1)
        .arg(LIFE)
        .arg(&*crate::store::new_epoch())
        .arg(durable.flag());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_means_aof_fsynced_always() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_durable(&v(&[
            "appendonly",
            "yes",
            "appendfsync",
            "always"
        ])));
        assert!(is_durable(&v(&[
            "appendfsync",
            "always",
            "appendonly",
            "yes"
        ])));
        assert!(!is_durable(&v(&[
            "appendonly",
            "yes",
            "appendfsync",
            "everysec"
        ])));
        assert!(!is_durable(&v(&[
            "appendonly",
            "no",
            "appendfsync",
            "always"
        ])));
        assert!(!is_durable(&v(&[])));
    }
}
