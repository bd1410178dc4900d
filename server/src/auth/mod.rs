//! Identity: who a connection or an HTTP request is. One small trait, [`Identity`], with two
//! implementations chosen by `--auth`: [`OpenIdentity`] (v1: clients choose their names) and
//! [`TokenIdentity`] (HS256-signed JWTs whose `sub` is the user). The rest of the server only
//! asks the trait, so neither the WebSocket nor the HTTP code knows how a token is checked.
//!
//! Files: `open.rs` and `token.rs` (the two implementations), `claims.rs` (what a verified
//! token says), `secret.rs` (loading the HMAC key from a file or the environment), `bearer.rs`
//! (the HTTP `Authorization: Bearer` header).

mod bearer;
pub mod claims;
mod open;
mod secret;
mod token;

use std::sync::Arc;

use banter_protocol::AuthMode;

pub use bearer::bearer_token;
pub use claims::Claims;
pub use open::OpenIdentity;
pub use secret::{SecretError, load_secret};
pub use token::TokenIdentity;

/// Why a token was refused. Every variant is answered with `unauthorized` (close 4001 on a
/// socket, `401` over HTTP); the message says which, without echoing the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("this server does not use tokens (welcome.auth is \"open\")")]
    NotUsed,
    #[error("a token is required: send {{\"type\":\"auth\",\"token\":...}} first")]
    Missing,
    #[error("the token has expired: get a new one")]
    Expired,
    #[error("the token is not valid (bad signature, algorithm or claims)")]
    Invalid,
    /// `--auth accounts`: the user was disabled, changed their password or signed out
    /// everywhere after the token was issued.
    #[error(
        "this session has ended (signed out everywhere, password changed or account disabled): sign in again"
    )]
    Revoked,
    /// `--auth accounts`: a login with an unknown name or a wrong password (the same answer
    /// for both).
    #[error("wrong name or password")]
    BadLogin,
}

/// Decides who a client is. Implementations must be cheap to call: every `auth` frame and
/// every HTTP request in token mode goes through [`Identity::verify`].
pub trait Identity: std::fmt::Debug + Send + Sync + 'static {
    /// Announced in `welcome.auth`.
    fn mode(&self) -> AuthMode;

    /// Checks a presented token and says whom it names.
    fn verify(&self, token: &str) -> Result<Claims, AuthError>;

    /// Checks again claims [`Identity::verify`] accepted earlier: whether they have been
    /// revoked since (`--auth accounts`). Tokens that cannot be revoked pass.
    fn recheck(&self, _claims: &Claims) -> Result<(), AuthError> {
        Ok(())
    }
}

/// A shared identity checker.
pub type SharedIdentity = Arc<dyn Identity>;
