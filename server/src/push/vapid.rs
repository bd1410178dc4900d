//! VAPID (RFC 8292): the server's P-256 key, made once and kept by the store (every node of a
//! cluster signs with the same key, and it survives restarts, so browsers' subscriptions stay
//! valid), and the `Authorization: vapid t=JWT, k=KEY` header of each push request: an ES256
//! JWT for the endpoint's origin, valid 12 hours, naming `--push-contact`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePrivateKey as _;
use reqwest::Url;
use serde::Serialize;

use crate::store::{Store, StoreError};

/// How long a VAPID JWT is valid (RFC 8292 allows up to 24 hours).
const VALID_SECS: u64 = 12 * 3600;

/// See the module docs.
pub struct Vapid {
    key: EncodingKey,
    public: String,
    contact: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: String,
    exp: u64,
    sub: &'a str,
}

impl Vapid {
    /// The store's key, made now when it has none (a blocking store call, on the pool).
    pub async fn load(store: &Store, contact: &str) -> Result<Self, StoreError> {
        let fresh = new_secret()?;
        let stored = store.push(move |p| p.vapid_key(&fresh)).await?;
        Self::from_secret(&stored, contact)
    }

    fn from_secret(secret: &[u8], contact: &str) -> Result<Self, StoreError> {
        let bad = |e: &dyn std::fmt::Display| StoreError::failed(format!("the VAPID key: {e}"));
        let sk = SecretKey::from_slice(secret).map_err(|e| bad(&e))?;
        let der = sk.to_pkcs8_der().map_err(|e| bad(&e))?;
        let public = sk.public_key().to_encoded_point(false);
        Ok(Vapid {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            public: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            contact: contact.to_owned(),
        })
    }

    /// The public key, URL-safe base64 of the uncompressed point (`GET /api/push/key`).
    pub fn public(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a request to `endpoint`.
    pub fn header(&self, endpoint: &Url) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = Claims {
            aud: endpoint.origin().ascii_serialization(),
            exp: now + VALID_SECS,
            sub: &self.contact,
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.key)
            .map_err(|e| format!("cannot sign the VAPID token: {e}"))?;
        Ok(format!("vapid t={jwt}, k={}", self.public))
    }
}

/// 32 random bytes that are a valid P-256 private key.
fn new_secret() -> Result<[u8; 32], StoreError> {
    loop {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(StoreError::failed)?;
        if SecretKey::from_slice(&raw).is_ok() {
            return Ok(raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_signs_a_header_for_the_endpoint_origin() {
        let v = Vapid::from_secret(&new_secret().unwrap(), "mailto:ops@example.com").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(v.public()).unwrap().len(), 65);
        let url = Url::parse("https://push.example.com/send/abc").unwrap();
        let h = v.header(&url).unwrap();
        assert!(h.starts_with("vapid t=ey"), "{h}");
        assert!(h.ends_with(&format!(", k={}", v.public())));
    }
}
