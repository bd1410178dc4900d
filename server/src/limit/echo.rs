//! Error frames never carry more than a short prefix of the client's input: a 60 KB bad frame
//! must not be answered with 60 KB (an amplification, and a way to make the server copy
//! attacker bytes around).

use serde::Deserialize;

/// Longest error message, in characters (serde's messages quote the offending input).
pub const MAX_ERROR_CHARS: usize = 160;

/// How much of a `client_id` a rate-limited answer may echo, in bytes (longer: not echoed).
const MAX_ECHOED_CLIENT_ID: usize = 256;

/// `message` cut to [`MAX_ERROR_CHARS`] characters (marked with `…` when cut).
pub fn cap(mut message: String) -> String {
    if let Some((at, _)) = message.char_indices().nth(MAX_ERROR_CHARS) {
        message.truncate(at);
        message.push('…');
    }
    message
}

/// The `client_id` of a frame, read without building the whole message (for answers to
/// rate-limited frames, which are not otherwise parsed). `None` for anything else.
pub fn client_id_of(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        client_id: Option<String>,
    }
    if text.len() > 16 * 1024 {
        return None;
    }
    serde_json::from_str::<IdOnly>(text)
        .ok()?
        .client_id
        .filter(|c| c.len() <= MAX_ECHOED_CLIENT_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(cap("short".into()), "short");
        let cut = cap("é".repeat(1000));
        assert_eq!(cut.chars().count(), MAX_ERROR_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn client_id_is_read_alone() {
        let f = r#"{"type":"send","room":"a","text":"x","client_id":"c1"}"#;
        assert_eq!(client_id_of(f).as_deref(), Some("c1"));
        assert_eq!(client_id_of("not json"), None);
        assert_eq!(client_id_of(r#"{"type":"typing","room":"a"}"#), None);
    }
}
