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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use banter_protocol::{Limits, UserRole};

    use super::*;
    use crate::store::accounts::UserRecord;

    fn rec(generation: u64, disabled: bool, valid_after: u64) -> UserRecord {
        UserRecord {
            name: "ada".into(),
            hash: String::new(),
            role: UserRole::Member,
            disabled,
            generation,
            valid_after,
            rev: generation + u64::from(disabled) + 1,
        }
    }

    #[test]
    fn a_token_counts_only_in_its_users_generation_and_while_enabled() {
        let tokens = Arc::new(TokenIdentity::new(&[5; 32], Limits::default()));
        let id = AccountsIdentity {
            tokens: tokens.clone(),
            cache: Arc::new(UserCache::default()),
        };
        let hour = Duration::from_secs(3600);
        let g0 = tokens.issue_for("ada", hour, None, Some(0)).unwrap().0;
        let bot = tokens.issue("ada", hour, None).unwrap();
        assert!(id.verify(&g0).is_ok(), "not yet known here: counts");
        id.cache.apply(&rec(0, false, 0));
        assert!(id.verify(&g0).is_ok() && id.verify(&bot).is_ok());
        id.cache.apply(&rec(1, false, u64::MAX - 1));
        assert_eq!(id.verify(&g0), Err(AuthError::Revoked));
        assert_eq!(
            id.verify(&bot),
            Err(AuthError::Revoked),
            "issued before the revocation"
        );
        let g1 = tokens.issue_for("ada", hour, None, Some(1)).unwrap().0;
        assert!(id.verify(&g1).is_ok());
        id.cache.apply(&rec(1, true, u64::MAX - 1));
        assert_eq!(id.verify(&g1), Err(AuthError::Revoked), "disabled");
        let other = tokens.issue("bot", hour, None).unwrap();
        assert!(
            id.verify(&other).is_ok(),
            "bots without accounts keep working"
        );
    }
}
