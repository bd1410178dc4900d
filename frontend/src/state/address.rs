//! What the page's address says: the room named by its fragment (`#/r/NAME`), the conversation
//! (`#/dm/PERSON`), and the token a sign-in link carries (`#token=...`). Also what a typed room
//! name becomes (`#general` → `general`, `Dev Team` → `dev-team`).

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

/// The person whose conversation the fragment names (`#/dm/PERSON`), if it names one.
pub fn dm_from_hash(hash: &str) -> Option<String> {
    let peer = hash.trim_start_matches('#').strip_prefix("/dm/")?;
    let peer = percent_decode(peer.trim_end_matches('/'));
    (!peer.trim().is_empty()).then_some(peer)
}

/// The address fragment of the conversation with `peer`.
pub fn hash_for_dm(peer: &str) -> String {
    let mut out = String::from("#/dm/");
    for b in peer.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` escapes decoded (anything malformed kept as it is).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A room name as people type it, made a valid one where the intent is plain: no leading `#`,
/// lower case, spaces and dots as `-` (`#general` → `general`, `Dev Team` → `dev-team`).
/// ASCII case only: `to_lowercase` would bring Unicode's case tables into the WASM, and room
/// names are ASCII anyway.
pub fn tidy_room_name(typed: &str) -> String {
    let mut out = String::new();
    for c in typed.trim().trim_start_matches('#').trim().chars() {
        let c = match c {
            ' ' | '.' | '\t' => '-',
            c => c.to_ascii_lowercase(),
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_string()
}

/// What to say when even the tidied name is not a room name.
pub fn room_name_hint(typed: &str, error: &str) -> String {
    format!(
        "“{}” cannot be a room name ({error}): use the letters a–z, digits, - and _, as in dev-team.",
        typed.trim()
    )
}
