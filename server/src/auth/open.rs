//! `--auth open` (the default): no tokens; each connection names itself in its first `join`,
//! and HTTP posts name their `user`. Presenting a token is refused as not used.

use banter_protocol::AuthMode;

use super::{AuthError, Claims, Identity};

/// See the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenIdentity;

impl Identity for OpenIdentity {
    fn mode(&self) -> AuthMode {
        AuthMode::Open
    }

    fn verify(&self, _token: &str) -> Result<Claims, AuthError> {
        Err(AuthError::NotUsed)
    }
}
