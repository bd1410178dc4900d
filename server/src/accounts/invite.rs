//! Invite codes: 128 random bits, shown once (in a link `BASE/#invite=CODE`). The store keeps
//! only their SHA-256 (the invite's `id`), so a copy of the store cannot sign anyone up.

use std::time::Duration;

use banter_protocol::http::NewInvite;
use sha2::{Digest, Sha256};

use crate::auth::claims::since_epoch;
use crate::store::StoreError;
use crate::store::accounts::Invite;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id an invite code is stored under.
pub fn id(code: &str) -> String {
    hex(&Sha256::digest(code.trim().as_bytes()))
}

/// A new code by `by`, valid for `ttl`: what to show, and what to store.
pub fn new(by: &str, ttl: Duration) -> Result<(NewInvite, Invite), StoreError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(StoreError::failed)?;
    let code = hex(&raw);
    let expires = since_epoch().as_secs().saturating_add(ttl.as_secs().max(1));
    let id = id(&code);
    Ok((
        NewInvite {
            id: id.clone(),
            code,
            expires,
        },
        Invite {
            code: id,
            expires,
            created_by: by.to_owned(),
            used_by: None,
            revoked: false,
        },
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_random_and_stored_by_their_hash() {
        let (a, stored) = super::new("ada", std::time::Duration::from_secs(60)).unwrap();
        let (b, _) = super::new("ada", std::time::Duration::from_secs(60)).unwrap();
        assert_ne!(a.code, b.code);
        assert_eq!(a.code.len(), 32);
        assert_eq!(stored.code, super::id(&a.code));
        assert_ne!(stored.code, a.code);
    }
}
