//! What a verified token says: the user (`sub`), when it expires (`exp`) and, optionally, which
//! rooms it may use (`rooms`; absent = every room).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The JWT payload Banter signs and accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub sub: String,
    /// Seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
    /// The rooms this token may join, read and post to; absent = all rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<Vec<String>>,
    /// `--auth accounts`: the user's generation when the token was issued (see
    /// `accounts::identity`); absent in tokens from `banter token`.
    #[serde(default, rename = "gen", skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
}

/// A verified identity. In open mode there are none: names are chosen per `join`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub user: Arc<str>,
    /// Seconds since the Unix epoch.
    pub exp: u64,
    pub rooms: Option<Arc<[String]>>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// The user's generation when it was issued (`--auth accounts` login tokens).
    pub generation: Option<u64>,
}

impl Claims {
    /// Whether the token allows `room`.
    pub fn allows_room(&self, room: &str) -> bool {
        self.rooms
            .as_ref()
            .is_none_or(|rooms| rooms.iter().any(|r| r == room))
    }

    /// How long until the token expires (zero if it already has).
    pub fn remaining(&self) -> Duration {
        Duration::from_secs(self.exp).saturating_sub(since_epoch())
    }
}

/// The time since the Unix epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_rooms_allow_everything_and_a_list_allows_only_itself() {
        let mut c = Claims {
            user: "ada".into(),
            exp: 0,
            rooms: None,
            iat: 0,
            generation: None,
        };
        assert!(c.allows_room("anything"));
        c.rooms = Some(vec!["a".to_owned()].into());
        assert!(c.allows_room("a") && !c.allows_room("b"));
        assert_eq!(c.remaining(), Duration::ZERO);
    }
}
