//! v1.2 files: what an upload answers and what a message carries for each attached file.

use serde::{Deserialize, Serialize};

/// A stored file (`201` of `POST /api/rooms/{room}/files`, and in a message's `files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Served at `GET /api/files/{id}`.
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// The media type, checked against the bytes' signature.
    #[serde(rename = "type")]
    pub content_type: String,
    /// Pixels, for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}
