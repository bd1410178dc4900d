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

/// A user's notification settings (v1.2 push), the answer of `GET /api/push/settings` and the
/// body of `PUT /api/push/settings` (which reads `previews` only: rooms are muted one at a time
/// with `PUT`/`DELETE /api/push/mutes/{room}`). Kept per user by the server, for every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSettings {
    /// Whether pushes carry a preview of the message (the sender and the start of the text);
    /// `false`: only the room and how many messages.
    pub previews: bool,
    /// Rooms and conversations the user gets no pushes from, sorted.
    #[serde(default)]
    pub muted: Vec<String>,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            previews: true,
            muted: Vec::new(),
        }
    }
}

/// What a push carries, encrypted for the subscription (RFC 8291): the service worker shows it
/// as a notification and opens `room` when it is clicked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotice {
    /// The room (or `dm-…` conversation) of the newest message in the batch.
    pub room: String,
    /// The notification's title: `#dev`, `ada` (a conversation), or `5 new messages in #dev`.
    pub title: String,
    /// `ada: the start of the text…` with previews on; else a line without the text.
    pub body: String,
    /// Messages this push stands for (pushes are batched per user).
    pub count: u32,
    /// Whether one of them mentioned the user.
    #[serde(default)]
    pub mention: bool,
    /// The other member, when `room` is a conversation (the web app opens it by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
}
