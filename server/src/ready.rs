//! Readiness (`GET /readyz`): named checks that each say whether a dependency can serve.
//!
//! `/healthz` answers as long as the process runs (liveness); `/readyz` answers `200` only when
//! every registered check passes and the server is not shutting down, else `503` with the
//! failing checks, so a load balancer sends traffic only to a node that can serve it. Parts of
//! the server that depend on something outside the process (the store, Redis) register a check
//! when they start; a check is a cheap, synchronous look at state the part keeps up to date (for
//! example a flag its connection task sets), never a blocking round trip.

use std::sync::{Arc, PoisonError, RwLock};

/// One check: `Ok(())` when ready, else why not.
pub type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The registered checks. Cheap to clone; clones share the list.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<RwLock<Vec<(String, Check)>>>,
}

impl Readiness {
    /// Adds a check named `name` (shown in `/readyz` when it fails).
    pub fn register(
        &self,
        name: impl Into<String>,
        check: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) {
        self.checks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.into(), Arc::new(check)));
    }

    /// Runs every check; returns the failures as `name: reason`, empty when ready.
    pub fn failures(&self) -> Vec<String> {
        let checks: Vec<(String, Check)> = self
            .checks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        checks
            .iter()
            .filter_map(|(name, check)| check().err().map(|why| format!("{name}: {why}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn ready_until_a_check_fails_and_again_when_it_recovers() {
        let r = Readiness::default();
        assert!(r.failures().is_empty());
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        r.register("store", move || {
            if flag.load(Ordering::Relaxed) {
                Ok(())
            } else {
                Err("not open".into())
            }
        });
        assert!(r.failures().is_empty());
        up.store(false, Ordering::Relaxed);
        assert_eq!(r.failures(), ["store: not open"]);
        up.store(true, Ordering::Relaxed);
        assert!(r.failures().is_empty());
    }
}
