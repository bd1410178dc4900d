//! v1.2 Web Push: the server's VAPID key and a browser's `PushSubscription`.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/push/key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKey {
    /// The VAPID public key, URL-safe base64 without padding (the browser's
    /// `applicationServerKey`).
    pub key: String,
}

/// A browser's `PushSubscription.toJSON()`, the body of `POST`/`DELETE /api/push/subscriptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscription {
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<u64>,
    pub keys: PushKeys,
}

/// The subscription's encryption keys (RFC 8291), URL-safe base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}
