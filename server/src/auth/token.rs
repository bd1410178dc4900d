//! `--auth token`: HS256-signed JWTs (RFC 7519) checked with `jsonwebtoken`. The user is the
//! token's `sub` (which must be a valid Banter name), `exp` is required and enforced with no
//! leeway, and an optional `rooms` claim limits the rooms the token may use. Only `HS256` is
//! accepted, so a token cannot pick a weaker algorithm (or `none`).

use std::sync::Arc;
use std::time::Duration;

use banter_protocol::{AuthMode, Limits};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use super::claims::{TokenClaims, since_epoch};
use super::{AuthError, Claims, Identity};

/// Longest token accepted, in bytes: anything longer is refused before it is decoded.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// See the module docs.
pub struct TokenIdentity {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    limits: Limits,
}

impl std::fmt::Debug for TokenIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("TokenIdentity").finish_non_exhaustive()
    }
}

impl TokenIdentity {
    /// A checker (and issuer) for tokens signed with `secret`; `sub` is validated as a name
    /// under `limits`.
    pub fn new(secret: &[u8], limits: Limits) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenIdentity {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            limits,
        }
    }

    /// Signs a token for `sub`, valid for `ttl`, optionally limited to `rooms`.
    pub fn issue(
        &self,
        sub: &str,
        ttl: Duration,
        rooms: Option<Vec<String>>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.issue_for(sub, ttl, rooms, None).map(|(t, _)| t)
    }

    /// [`TokenIdentity::issue`] with the user's `generation` (`--auth accounts`); also returns
    /// the token's `exp`.
    pub fn issue_for(
        &self,
        sub: &str,
        ttl: Duration,
        rooms: Option<Vec<String>>,
        generation: Option<u64>,
    ) -> Result<(String, u64), jsonwebtoken::errors::Error> {
        let now = since_epoch().as_secs();
        let claims = TokenClaims {
            sub: sub.to_owned(),
            exp: now.saturating_add(ttl.as_secs().max(1)),
            iat: now,
            rooms,
            generation,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims.exp))
    }
}

impl Identity for TokenIdentity {
    fn mode(&self) -> AuthMode {
        AuthMode::Token
    }

    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid);
        }
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        let c = data.claims;
        // `exp` equal to now has passed already (jsonwebtoken accepts it with zero leeway).
        if c.exp <= since_epoch().as_secs() {
            return Err(AuthError::Expired);
        }
        let user = self.limits.name(&c.sub).map_err(|_| AuthError::Invalid)?;
        if user != c.sub {
            return Err(AuthError::Invalid);
        }
        Ok(Claims {
            user: user.into(),
            exp: c.exp,
            rooms: c.rooms.map(Arc::from),
            iat: c.iat,
            generation: c.generation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (TokenIdentity, TokenIdentity) {
        (
            TokenIdentity::new(&[7; 32], Limits::default()),
            TokenIdentity::new(&[8; 32], Limits::default()),
        )
    }

    #[test]
    fn a_token_names_its_sub_and_a_foreign_key_is_refused() {
        let (ours, theirs) = ids();
        let t = ours.issue("ada", Duration::from_secs(60), None).unwrap();
        let c = ours.verify(&t).unwrap();
        assert_eq!(&*c.user, "ada");
        assert!(c.allows_room("anything"));
        assert_eq!(theirs.verify(&t), Err(AuthError::Invalid));
        assert_eq!(ours.verify(""), Err(AuthError::Missing));
        assert_eq!(ours.verify("a.b.c"), Err(AuthError::Invalid));
    }

    #[test]
    fn expired_tokens_and_bad_subjects_are_refused() {
        let (ours, _) = ids();
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &TokenClaims {
                sub: "ada".into(),
                exp: since_epoch().as_secs() - 1,
                iat: 0,
                rooms: None,
                generation: None,
            },
            &ours.encoding,
        )
        .unwrap();
        assert_eq!(ours.verify(&expired), Err(AuthError::Expired));
        let padded = ours.issue(" ada ", Duration::from_secs(60), None).unwrap();
        assert_eq!(ours.verify(&padded), Err(AuthError::Invalid));
        let long = ours
            .issue(&"x".repeat(40), Duration::from_secs(60), None)
            .unwrap();
        assert_eq!(ours.verify(&long), Err(AuthError::Invalid));
    }

    #[test]
    fn only_hs256_is_accepted() {
        let (ours, _) = ids();
        let claims = TokenClaims {
            sub: "ada".into(),
            exp: since_epoch().as_secs() + 60,
            iat: 0,
            rooms: Some(vec!["a".into()]),
            generation: None,
        };
        let hs512 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &ours.encoding).unwrap();
        assert_eq!(ours.verify(&hs512), Err(AuthError::Invalid));
        let ok =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &ours.encoding).unwrap();
        let c = ours.verify(&ok).unwrap();
        assert!(c.allows_room("a") && !c.allows_room("b"));
    }
}
