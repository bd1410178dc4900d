//! What the page's address says: the room named by its fragment (`#/r/NAME`), and the token a
//! sign-in link carries (`#token=...`).

use banter_protocol::{DEFAULT_ROOM, Limits};

/// The token of a sign-in link's fragment (`#token=...`), if it carries one.
pub fn token_from_fragment(hash: &str) -> Option<String> {
    let rest = hash.trim_start_matches('#').strip_prefix("token=")?;
    let token = rest.split('&').next().unwrap_or_default().trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// The room named by the address fragment: `#/r/NAME`, or `lobby` for an empty fragment.
///
/// Returns an error sentence for a fragment that names a room badly.
pub fn room_from_hash(hash: &str, limits: &Limits) -> Result<String, String> {
    let path = hash.trim_start_matches('#');
    if path.is_empty() || path == "/" {
        return Ok(DEFAULT_ROOM.to_string());
    }
    let Some(name) = path.strip_prefix("/r/") else {
        return Err(format!("“{path}” is not a room address; use #/r/NAME"));
    };
    let name = name.trim_end_matches('/');
    limits.room(name).map(str::to_string).map_err(|e| e.message)
}

/// The address fragment of `room`.
pub fn hash_for_room(room: &str) -> String {
    format!("#/r/{room}")
}
