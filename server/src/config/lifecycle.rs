//! Flags of the message lifecycle (v1.2): how long a reaction's emoji may be, how many times a
//! message may be edited, how many reactions it may hold. The last two are checked by the
//! store on the message's stored state (see `store::entry`). With Redis, how soon after a
//! deletion its append-only file is rewritten (so the erased bytes leave it).

use std::time::Duration;

use banter_protocol::{ErrorCode, ValidationError};

use crate::store::ChangeLimits;

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct LifecycleConfig {
    /// The longest reaction emoji, in bytes (a flag with a skin tone or a family sequence is
    /// up to about 30).
    #[arg(long, env = "BANTER_MAX_EMOJI_BYTES", default_value_t = 32)]
    pub max_emoji_bytes: usize,

    /// How many times one message may be edited; further edits are refused with `too_large`.
    #[arg(long, env = "BANTER_MAX_EDITS", default_value_t = 100)]
    pub max_edits: u32,

    /// How many reactions (one per user and emoji) one message may hold; further ones are
    /// refused with `too_large`.
    #[arg(long, env = "BANTER_MAX_REACTIONS", default_value_t = 1_000)]
    pub max_reactions: u32,

    /// With Redis: after a deletion, ask Redis to rewrite its append-only file
    /// (`BGREWRITEAOF`), at most once per this period across the cluster, so the deleted
    /// message's text leaves the AOF too (0 = never: the operator rewrites it).
    #[arg(long, env = "BANTER_REDIS_AOF_REWRITE_AFTER_DELETE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub redis_aof_rewrite_after_delete: Duration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            max_emoji_bytes: 32,
            max_edits: ChangeLimits::default().edits,
            max_reactions: ChangeLimits::default().reactions,
            redis_aof_rewrite_after_delete: Duration::from_secs(60),
        }
    }
}

impl LifecycleConfig {
    /// The limits the store checks.
    pub fn limits(&self) -> ChangeLimits {
        ChangeLimits {
            edits: self.max_edits,
            reactions: self.max_reactions,
        }
    }

    /// Checks a reaction's emoji: 1 to `--max-emoji-bytes` bytes, no whitespace or control
    /// characters (it is also a path segment of the HTTP API).
    pub fn emoji<'a>(&self, emoji: &'a str) -> Result<&'a str, ValidationError> {
        let bad = |message: String| ValidationError {
            code: ErrorCode::BadRequest,
            message,
        };
        if emoji.is_empty() || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "a reaction is one emoji, without spaces or control characters".into(),
            ));
        }
        if emoji.len() > self.max_emoji_bytes {
            return Err(ValidationError {
                code: ErrorCode::TooLarge,
                message: format!(
                    "a reaction's emoji is at most {} bytes (--max-emoji-bytes)",
                    self.max_emoji_bytes
                ),
            });
        }
        Ok(emoji)
    }
}
