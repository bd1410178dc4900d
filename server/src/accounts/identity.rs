//! `--auth accounts`: token mode ([`TokenIdentity`]: every v1.1 rule holds) where a token also
//! answers to its user's account, from this node's [`UserCache`]:
//! - a token with a generation (from login, sign-up or renewal) counts only while it is the
//!   user's generation and the user is not disabled (a user this node has not heard of yet, made
//!   on another node within `--accounts-poll`, counts);
//! - a token without one (`banter token`, for bots) counts as before, unless it names an
//!   account that is disabled or that revoked its sessions at or after the token's `iat`.

use std::sync::Arc;

use banter_protocol::AuthMode;

use super::users::UserCache;
use crate::auth::{AuthError, Claims, Identity, TokenIdentity};

/// See the module docs.
#[derive(Debug, Clone)]
pub struct AccountsIdentity {
    pub tokens: Arc<TokenIdentity>,
    pub cache: Arc<UserCache>,
}

impl Identity for AccountsIdentity {
    fn mode(&self) -> AuthMode {
        AuthMode::Token
    }

    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.tokens.verify(token)?;
        self.recheck(&claims)?;
        Ok(claims)
    }

    fn recheck(&self, claims: &Claims) -> Result<(), AuthError> {
        let standing = self.cache.get(&claims.user);
        let ok = match (standing, claims.generation) {
            // Not yet in this node's cache (signed up on another node less than
            // `--accounts-poll` ago): users are never deleted, so it exists.
            (None, _) => true,
            (Some(s), _) if s.disabled => false,
            (Some(s), Some(g)) => g == s.generation,
            (Some(s), None) => claims.iat > s.valid_after,
        };
        if ok { Ok(()) } else { Err(AuthError::Revoked) }
    }
}
