//! `--auth accounts` (docs/security.md, "Accounts"): people sign up with an invite and sign in
//! with a password; bots keep `banter token`. [`Accounts`] is the service the HTTP handlers of
//! `http/accounts.rs` call: sign-up, login, renewal, password changes, and the admin's users
//! and invites. Every change that ends sessions goes through [`Accounts::change`]: stored, taken
//! into this node's [`UserCache`] (tokens of the old generation are refused from then on) and
//! the user's connections here closed with 4001; other nodes and `banter user ...` changes are
//! picked up by the watcher of `users.rs` within `--accounts-poll`.
//!
//! Files: `admin.rs` (the admin's users and invites), `password.rs` (Argon2id), `users.rs` (the cache and its watcher), `identity.rs` (the
//! token check), `guess.rs` (the guessing limit), `cookie.rs` (the remembered session),
//! `invite.rs` (invite codes).

mod admin;
pub mod cookie;
pub mod guess;
pub mod identity;
pub mod invite;
pub mod password;
pub mod users;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use banter_protocol::http::LoginOk;
use banter_protocol::{Limits, UserRole};

use crate::auth::{AuthError, Identity, TokenIdentity, claims::since_epoch};
use crate::config::accounts::AccountsConfig;
use crate::error::ApiError;
use crate::hub::Hub;
use crate::store::StoreError;
use crate::store::accounts::{AccountStore, SharedAccounts, SignupOutcome, UserChange, UserRecord};

pub use identity::AccountsIdentity;
pub use users::UserCache;

/// A session just opened or renewed: the access token for the body, the refresh token for the
/// cookie.
pub struct Session {
    pub ok: LoginOk,
    pub refresh: String,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedAccounts,
    cache: Arc<UserCache>,
    hasher: password::Hasher,
    access: Arc<TokenIdentity>,
    refresh: TokenIdentity,
    guesses: guess::Guesses,
    cfg: AccountsConfig,
    limits: Limits,
    hub: Hub,
    secure_cookie: bool,
}

/// What [`Accounts`] needs before the hub exists: built first, so the identity can go into the
/// connection settings.
pub struct Prepared {
    pub identity: AccountsIdentity,
    store: SharedAccounts,
    hasher: password::Hasher,
    refresh: TokenIdentity,
}

/// The key refresh tokens are signed with: derived from the server's, never equal to it.
fn refresh_key(secret: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::new()
        .chain_update(b"banter refresh token\0")
        .chain_update(secret)
        .finalize()
        .to_vec()
}

/// Opens the account store, loads every user into the cache and makes the dummy hash.
pub fn prepare(config: &crate::Config, secret: &[u8], limits: Limits) -> Result<Prepared, String> {
    let store =
        crate::store::accounts::open(&config.store_settings()).map_err(|e| e.to_string())?;
    let cache = Arc::new(UserCache::default());
    for rec in store.changes(0).map_err(|e| e.to_string())? {
        cache.apply(&rec);
    }
    Ok(Prepared {
        identity: AccountsIdentity {
            tokens: Arc::new(TokenIdentity::new(secret, limits.clone())),
            cache,
        },
        store,
        hasher: password::Hasher::new(&config.accounts)?,
        refresh: TokenIdentity::new(&refresh_key(secret), limits),
    })
}

impl Prepared {
    /// The service, with its watcher and sweeper running until `stop`.
    pub fn start(
        self,
        config: &crate::Config,
        hub: Hub,
        stop: tokio_util::sync::CancellationToken,
    ) -> Accounts {
        let cfg = config.accounts.clone();
        let cache = self.identity.cache.clone();
        hub.set_admins(Arc::new(move |name: &str| cache.is_admin(name)));
        users::watch(
            self.store.clone(),
            self.identity.cache.clone(),
            hub.clone(),
            cfg.accounts_poll,
            stop.clone(),
        );
        let inner = Arc::new(Inner {
            guesses: guess::Guesses::new(
                cfg.login_per_address_per_min,
                cfg.login_free_failures,
                cfg.login_max_wait,
            ),
            store: self.store,
            cache: self.identity.cache,
            hasher: self.hasher,
            access: self.identity.tokens,
            refresh: self.refresh,
            secure_cookie: cfg.session_cookie_secure || config.tls_cert.is_some(),
            limits: config.limits(),
            cfg,
            hub,
        });
        sweep(inner.clone(), stop);
        Accounts { inner }
    }
}

fn sweep(inner: Arc<Inner>, stop: tokio_util::sync::CancellationToken) {
    crate::every::every(Duration::from_secs(10), stop, move || {
        inner.guesses.sweep();
        std::future::ready(())
    });
}

fn now() -> u64 {
    since_epoch().as_secs()
}

impl Accounts {
    /// Runs a store call on the blocking pool.
    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn AccountStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.inner.store.clone();
        let out = tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        Ok(out?)
    }

    /// Whether the session cookie is marked `Secure`.
    pub fn secure_cookie(&self) -> bool {
        self.inner.secure_cookie
    }

    /// How long the cookie lasts.
    pub fn remember(&self) -> Duration {
        self.inner.cfg.session_remember
    }

    /// A new password must be `--password-min-chars` long and at most `--password-max-bytes`.
    fn check_password(&self, password: &str) -> Result<(), ApiError> {
        let cfg = &self.inner.cfg;
        if password.chars().count() < cfg.password_min_chars {
            return Err(ApiError::BadRequest(format!(
                "the password is too short: use at least {} characters",
                cfg.password_min_chars
            )));
        }
        self.check_length(password)
    }

    fn check_length(&self, password: &str) -> Result<(), ApiError> {
        let max = self.inner.cfg.password_max_bytes;
        if password.len() > max {
            return Err(ApiError::BadRequest(format!(
                "the password is too long: at most {max} bytes"
            )));
        }
        Ok(())
    }

    /// A fresh record for a new user `name` (validated as a Banter name) with `password`.
    async fn new_record(
        &self,
        name: &str,
        password: String,
        role: UserRole,
    ) -> Result<UserRecord, ApiError> {
        let name = self.inner.limits.name(name)?;
        if name != name.trim() || name.is_empty() {
            return Err(ApiError::BadRequest(
                "a name has no spaces around it".into(),
            ));
        }
        self.check_password(&password)?;
        let hash = self.inner.hasher.hash(password).await?;
        Ok(UserRecord {
            name: name.to_owned(),
            hash,
            role,
            disabled: false,
            generation: 0,
            valid_after: 0,
            rev: 0,
        })
    }

    /// Tokens for `rec`'s current generation.
    fn session(&self, rec: &UserRecord) -> Result<Session, ApiError> {
        let cfg = &self.inner.cfg;
        let gen_ = Some(rec.generation);
        let internal = |e: jsonwebtoken::errors::Error| ApiError::Internal(Box::new(e));
        let (token, exp) = self
            .inner
            .access
            .issue_for(&rec.name, cfg.session_token_ttl, None, gen_)
            .map_err(internal)?;
        let (refresh, _) = self
            .inner
            .refresh
            .issue_for(&rec.name, cfg.session_remember, None, gen_)
            .map_err(internal)?;
        Ok(Session {
            ok: LoginOk {
                user: rec.name.clone(),
                token,
                exp,
            },
            refresh,
        })
    }

    /// One attempt from `ip` (login, sign-up): `429` past `--login-per-address-per-min`.
    fn check_ip(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip.map(|ip| self.inner.guesses.check_ip(ip)) {
            Some(Err(wait)) => Err(ApiError::RateLimited(wait)),
            _ => Ok(()),
        }
    }

    /// The user a (signature-valid, unexpired) session cookie names, revoked or not.
    pub fn cookie_user(&self, cookie: Option<&str>) -> Option<String> {
        let claims = self.inner.refresh.verify(cookie?).ok()?;
        Some(claims.user.to_string())
    }

    /// `POST /api/login`. Unknown name, wrong password and disabled user: the same `401`, after
    /// the same work (one hash). `known_device`: the user a session cookie of the request
    /// names (never made to wait for the name's failures).
    pub async fn login(
        &self,
        ip: Option<IpAddr>,
        name: String,
        password: String,
        known_device: Option<String>,
    ) -> Result<Session, ApiError> {
        self.check_ip(ip)?;
        self.check_length(&password)?;
        let guesses = &self.inner.guesses;
        if known_device.as_deref() != Some(name.as_str()) {
            guesses.check_name(&name).map_err(ApiError::RateLimited)?;
        }
        let n = name.clone();
        let rec = self.store(move |s| s.user(&n)).await?;
        let hash = rec.as_ref().map(|r| r.hash.clone());
        let ok = self.inner.hasher.verify(password, hash).await?;
        match rec {
            Some(rec) if ok && !rec.disabled => {
                guesses.succeeded(&name);
                users::take_in(&self.inner.cache, &self.inner.hub, &rec);
                self.session(&rec)
            }
            _ => {
                guesses.failed(&name);
                Err(ApiError::Unauthorized(AuthError::BadLogin))
            }
        }
    }

    /// `POST /api/signup`: a new member, with a single-use invite code.
    pub async fn signup(
        &self,
        ip: Option<IpAddr>,
        code: &str,
        name: &str,
        password: String,
    ) -> Result<Session, ApiError> {
        self.check_ip(ip)?;
        let rec = self.new_record(name, password, UserRole::Member).await?;
        let (id, r) = (invite::id(code), rec.clone());
        let outcome = self.store(move |s| s.signup(&id, r, now())).await?;
        let refused = |m: &str| Err(ApiError::Denied(m.to_owned()));
        match outcome {
            SignupOutcome::Created => {}
            SignupOutcome::BadInvite => {
                return refused(
                    "this invite code is not valid (revoked or mistyped): ask for a new one",
                );
            }
            SignupOutcome::UsedInvite => {
                return refused("this invite has been used already: ask for a new one, or sign in");
            }
            SignupOutcome::ExpiredInvite => {
                return refused("this invite has expired: ask for a new one");
            }
            SignupOutcome::NameTaken => {
                return Err(ApiError::BadRequest(format!(
                    "the name `{}` is taken: choose another",
                    rec.name
                )));
            }
        }
        let n = rec.name.clone();
        let stored = self.store(move |s| s.user(&n)).await?.unwrap_or(rec);
        users::take_in(&self.inner.cache, &self.inner.hub, &stored);
        tracing::info!(user = stored.name, "signed up");
        self.session(&stored)
    }

    /// `POST /api/session/renew`: a new access token (and cookie) for the cookie's session,
    /// checked against the store (not only this node's cache): a revoked one is refused.
    pub async fn renew(&self, cookie: Option<&str>) -> Result<Session, ApiError> {
        let cookie = cookie.ok_or(ApiError::Unauthorized(AuthError::Missing))?;
        let claims = self
            .inner
            .refresh
            .verify(cookie)
            .map_err(ApiError::Unauthorized)?;
        let n = claims.user.to_string();
        let rec = self.store(move |s| s.user(&n)).await?;
        let Some(rec) = rec else {
            return Err(ApiError::Unauthorized(AuthError::Revoked));
        };
        users::take_in(&self.inner.cache, &self.inner.hub, &rec);
        if rec.disabled || claims.generation != Some(rec.generation) {
            return Err(ApiError::Unauthorized(AuthError::Revoked));
        }
        self.session(&rec)
    }

    /// Applies `change` to `name`: stored, then taken in here (ending the user's sessions on
    /// this node at once when it revokes them; other nodes follow within `--accounts-poll`).
    pub async fn change(&self, name: &str, change: UserChange) -> Result<UserRecord, ApiError> {
        let n = name.to_owned();
        let rec = self
            .store(move |s| s.change_user(&n, &change, now()))
            .await?
            .ok_or(ApiError::NotFound)?;
        users::take_in(&self.inner.cache, &self.inner.hub, &rec);
        Ok(rec)
    }

    /// `POST /api/password`: `user` changes their own password (every session ends; the answer
    /// is a new one for this device).
    pub async fn change_password(
        &self,
        user: &str,
        old: String,
        new: String,
        own_device: bool,
    ) -> Result<Session, ApiError> {
        self.check_length(&old)?;
        self.check_password(&new)?;
        // A stolen session must not guess the current password faster than a login could; a
        // device remembered as this user is not held up by others' guesses (as at login).
        if !own_device {
            self.inner
                .guesses
                .check_name(user)
                .map_err(ApiError::RateLimited)?;
        }
        let rec = self.user(user).await?.ok_or(ApiError::Forbidden)?;
        if !self.inner.hasher.verify(old, Some(rec.hash)).await? {
            self.inner.guesses.failed(user);
            return Err(ApiError::Denied("the current password is wrong".into()));
        }
        let hash = self.inner.hasher.hash(new).await?;
        let rec = self.change(user, UserChange::Password(hash)).await?;
        self.session(&rec)
    }

    /// The stored record of `name`.
    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>, ApiError> {
        let n = name.to_owned();
        self.store(move |s| s.user(&n)).await
    }
}
