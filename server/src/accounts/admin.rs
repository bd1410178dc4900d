//! The admin's side of [`Accounts`]: users (add, reset a password) and invites (create, list,
//! revoke), and the check that the caller is an admin now.

use std::time::Duration;

use banter_protocol::UserRole;

use super::{Accounts, invite, users};
use crate::error::ApiError;
use crate::store::accounts::{Invite, UserChange, UserRecord};

impl Accounts {
    /// An admin sets `user`'s password (their sessions end).
    pub async fn reset_password(
        &self,
        user: &str,
        password: String,
    ) -> Result<UserRecord, ApiError> {
        self.check_password(&password)?;
        let hash = self.inner.hasher.hash(password).await?;
        self.change(user, UserChange::Password(hash)).await
    }

    /// Adds a user (an admin's `POST /api/users`); `403`-free: the caller is checked before.
    pub async fn add_user(
        &self,
        name: &str,
        password: String,
        role: UserRole,
    ) -> Result<UserRecord, ApiError> {
        let rec = self.new_record(name, password, role).await?;
        let r = rec.clone();
        if !self.store(move |s| s.add_user(r)).await? {
            return Err(ApiError::BadRequest(format!(
                "the name `{}` is taken",
                rec.name
            )));
        }
        let n = rec.name.clone();
        let stored = self.store(move |s| s.user(&n)).await?.unwrap_or(rec);
        users::take_in(&self.inner.cache, &self.inner.hub, &stored);
        Ok(stored)
    }

    /// `403` unless `name` is an admin now (read from the store, not the token).
    pub async fn require_admin(&self, name: &str) -> Result<(), ApiError> {
        match self.user(name).await? {
            Some(r) if r.role == UserRole::Admin && !r.disabled => Ok(()),
            _ => Err(ApiError::Denied("only a server admin may do this".into())),
        }
    }

    pub async fn users(&self) -> Result<Vec<UserRecord>, ApiError> {
        self.store(|s| s.users()).await
    }

    /// A new invite by `by`, valid for `ttl` (default `--invite-ttl`).
    pub async fn invite(
        &self,
        by: &str,
        ttl: Option<Duration>,
    ) -> Result<banter_protocol::http::NewInvite, ApiError> {
        let ttl = ttl.unwrap_or(self.inner.cfg.invite_ttl);
        let (made, invite) = invite::new(by, ttl).map_err(ApiError::from)?;
        self.store(move |s| s.add_invite(invite)).await?;
        Ok(made)
    }

    pub async fn invites(&self) -> Result<Vec<Invite>, ApiError> {
        self.store(|s| s.invites()).await
    }

    pub async fn revoke_invite(&self, id: &str) -> Result<(), ApiError> {
        let id = id.to_owned();
        if self.store(move |s| s.revoke_invite(&id)).await? {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }
}
