//! One encoded server frame: the JSON text a client receives, built once and shared by every
//! connection it goes to (cloning is a reference-count bump, never a copy).
//!
//! It is Banter's own type, not a WebSocket library's, so that the store, the hub and the
//! outboxes know nothing of axum: `ws/` turns a [`Frame`] into a WebSocket text message where it
//! writes it (`ws::socket`).

use bytes::Bytes;

/// See the module docs. Always valid UTF-8: it is only ever built from a `str`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    /// A frame of a static text (no allocation).
    pub const fn from_static(s: &'static str) -> Self {
        Frame(Bytes::from_static(s.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        // Built only from `str`s (see the constructors), so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The shared bytes (UTF-8), for the edge that writes them.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame(Bytes::from(s))
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Self {
        Frame(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl std::ops::Deref for Frame {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}
