//! The contract's validation rules and the limits they are checked against.
//!
//! Every limit has a name (a field of [`Limits`]), a default ([`Limits::default`]) and, on the
//! server, a flag. The server announces the limits in force in `welcome`, so clients can check
//! input before sending it.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// The limits in force on a server. Sent to every client in `welcome.limits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Longest `text`, in characters, after trimming.
    pub max_text_chars: usize,
    /// Largest WebSocket message, in bytes; a larger one closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// Longest `name`/`user`, in characters, after trimming.
    pub max_name_chars: usize,
    /// Longest `room` name, in characters.
    pub max_room_chars: usize,
    /// Longest `client_id`, in characters.
    pub max_client_id_chars: usize,
    /// Sustained messages per second a connection may send (0 = unlimited).
    pub rate_per_sec: u32,
    /// Burst of messages allowed above the sustained rate.
    pub rate_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_chars: 4000,
            max_frame_bytes: 64 * 1024,
            max_name_chars: 32,
            max_room_chars: 64,
            max_client_id_chars: 64,
            rate_per_sec: 20,
            rate_burst: 40,
        }
    }
}

/// A field that breaks the contract's rules, with the code the server answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// The `error.code` to send.
    pub code: ErrorCode,
    /// A sentence for a person.
    pub message: String,
}

impl ValidationError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ValidationError {
            code,
            message: message.into(),
        }
    }
}

impl Limits {
    /// Checks a user name; returns it trimmed.
    ///
    /// 1..=`max_name_chars` characters after trimming, no control characters.
    pub fn name<'a>(&self, name: &'a str) -> Result<&'a str, ValidationError> {
        let name = name.trim();
        let len = name.chars().count();
        if len == 0 {
            return Err(ValidationError::new(
                ErrorCode::InvalidName,
                "name must not be empty",
            ));
        }
        if len > self.max_name_chars {
            return Err(ValidationError::new(
                ErrorCode::InvalidName,
                format!("name is longer than {} characters", self.max_name_chars),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                ErrorCode::InvalidName,
                "name must not contain control characters",
            ));
        }
        Ok(name)
    }

    /// Checks a room name: 1..=`max_room_chars` characters of `a-z 0-9 - _`.
    pub fn room<'a>(&self, room: &'a str) -> Result<&'a str, ValidationError> {
        if room.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::InvalidRoom,
                "room must not be empty",
            ));
        }
        if room.len() > self.max_room_chars {
            return Err(ValidationError::new(
                ErrorCode::InvalidRoom,
                format!("room is longer than {} characters", self.max_room_chars),
            ));
        }
        if !room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(ValidationError::new(
                ErrorCode::InvalidRoom,
                "room may only contain a-z, 0-9, '-' and '_'",
            ));
        }
        Ok(room)
    }

    /// Checks a message text; returns it trimmed.
    ///
    /// 1..=`max_text_chars` characters after trimming. Inner newlines are kept.
    pub fn text<'a>(&self, text: &'a str) -> Result<&'a str, ValidationError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ValidationError::new(
                ErrorCode::InvalidText,
                "text must not be empty",
            ));
        }
        // Cheap bound first: a char is at most 4 bytes.
        if text.len() > self.max_text_chars && text.chars().count() > self.max_text_chars {
            return Err(ValidationError::new(
                ErrorCode::TooLarge,
                format!("text is longer than {} characters", self.max_text_chars),
            ));
        }
        Ok(text)
    }

    /// Checks a client-chosen `client_id`: 1..=`max_client_id_chars` characters, no control
    /// characters.
    pub fn client_id<'a>(&self, id: &'a str) -> Result<&'a str, ValidationError> {
        let len = id.chars().count();
        if len == 0 || len > self.max_client_id_chars || id.chars().any(char::is_control) {
            return Err(ValidationError::new(
                ErrorCode::BadRequest,
                format!(
                    "client_id must be 1 to {} characters without control characters",
                    self.max_client_id_chars
                ),
            ));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        let l = Limits::default();
        assert_eq!(l.name("  ada ").unwrap(), "ada");
        assert_eq!(l.name("   ").unwrap_err().code, ErrorCode::InvalidName);
        assert_eq!(
            l.name(&"x".repeat(33)).unwrap_err().code,
            ErrorCode::InvalidName
        );
        assert!(
            l.name(&"é".repeat(32)).is_ok(),
            "limit counts characters, not bytes"
        );
        assert_eq!(l.name("a\u{7}b").unwrap_err().code, ErrorCode::InvalidName);
    }

    #[test]
    fn rooms_use_a_small_alphabet() {
        let l = Limits::default();
        assert!(l.room("lobby").is_ok());
        assert!(l.room("team-a_2").is_ok());
        for bad in ["", "Lobby", "a b", "räum", "a/b", &"r".repeat(65)] {
            assert_eq!(
                l.room(bad).unwrap_err().code,
                ErrorCode::InvalidRoom,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_limit_counts_characters_after_trimming() {
        let l = Limits::default();
        assert_eq!(l.text("  hi\nthere  ").unwrap(), "hi\nthere");
        assert_eq!(l.text(" \n ").unwrap_err().code, ErrorCode::InvalidText);
        assert!(l.text(&"ü".repeat(4000)).is_ok());
        assert_eq!(
            l.text(&"a".repeat(4001)).unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert!(l.text(&format!("  {}  ", "a".repeat(4000))).is_ok());
    }

    #[test]
    fn client_ids_are_bounded() {
        let l = Limits::default();
        assert!(l.client_id("c-1").is_ok());
        assert_eq!(l.client_id("").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(
            l.client_id(&"c".repeat(65)).unwrap_err().code,
            ErrorCode::BadRequest
        );
    }
}
