//! Password hashes: Argon2id (the `argon2` crate) with the parameters of `--argon2-*`, stored
//! as PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), so a hash made under older
//! parameters still verifies after they change.
//!
//! Hashing is slow on purpose: it runs on the blocking pool, at most `--password-hashes` at once.
//! A login for an unknown name verifies against a dummy hash made at start with the same
//! parameters, so it takes as long as one with a wrong password.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::accounts::AccountsConfig;
use crate::store::StoreError;

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    dummy: Arc<str>,
    gate: Arc<Semaphore>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// `argon2` parameters the flags give, or why they are unusable.
pub fn params(cfg: &AccountsConfig) -> Result<Params, String> {
    Params::new(
        cfg.argon2_memory_kib,
        cfg.argon2_iterations,
        cfg.argon2_parallelism,
        None,
    )
    .map_err(|e| format!("--argon2-memory-kib/--argon2-iterations/--argon2-parallelism: {e}"))
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// Hashes `password` with `params` and a fresh random salt (blocking).
pub fn hash_blocking(params: &Params, password: &str) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(StoreError::failed)?;
    let salt = SaltString::encode_b64(&salt).map_err(StoreError::failed)?;
    argon(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(StoreError::failed)
}

/// Whether `password` matches the PHC string `hash` (blocking; false for a malformed hash).
pub fn verify_blocking(params: &Params, password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon(params)
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl Hasher {
    /// A hasher with the flags' parameters (makes the dummy hash: takes one hash's time).
    pub fn new(cfg: &AccountsConfig) -> Result<Self, String> {
        let params = params(cfg)?;
        let dummy = hash_blocking(&params, "not a password").map_err(|e| e.to_string())?;
        let n = match cfg.password_hashes {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Ok(Hasher {
            params,
            dummy: dummy.into(),
            gate: Arc::new(Semaphore::new(n)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Params) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self.gate.acquire().await.map_err(StoreError::failed)?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || f(&params))
            .await
            .map_err(StoreError::failed)
    }

    /// A new hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, StoreError> {
        self.run(move |p| hash_blocking(p, &password)).await?
    }

    /// Whether `password` matches `hash`; with no hash (an unknown user), checks the dummy and
    /// answers `false`, in the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, StoreError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.to_string());
        let ok = self
            .run(move |p| verify_blocking(p, &password, &hash))
            .await?;
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_says_its_parameters() {
        let p = Params::new(1024, 1, 1, None).unwrap();
        let h = hash_blocking(&p, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{h}");
        assert!(verify_blocking(&p, "correct horse", &h));
        assert!(!verify_blocking(&p, "wrong horse", &h));
        assert!(!verify_blocking(&p, "correct horse", "not a hash"));
        assert_ne!(h, hash_blocking(&p, "correct horse").unwrap(), "salted");
    }
}
