//! Web Push flags (v1.2 "Notifications"): which push endpoints may be called, how pushes are
//! batched and queued. See `server/src/push/`.

use std::time::Duration;

/// `--push-*`.
#[derive(Debug, Clone, clap::Args)]
pub struct PushConfig {
    /// Send Web Push notifications to users with no open connection (`false`: the push routes
    /// answer 404 and nothing is sent).
    #[arg(long = "push", env = "BANTER_PUSH", default_value_t = true, action = clap::ArgAction::Set)]
    pub push_on: bool,

    /// Allow push endpoints that start with this prefix even when they are not `https://` on
    /// a public address (tests, a private push service). Repeatable.
    #[arg(
        long = "push-allow-endpoint",
        env = "BANTER_PUSH_ALLOW_ENDPOINTS",
        value_delimiter = ','
    )]
    pub push_allow_endpoints: Vec<String>,

    /// The VAPID `sub` claim: how a push service can reach the operator (`mailto:` or
    /// `https:`).
    #[arg(
        long,
        env = "BANTER_PUSH_CONTACT",
        default_value = "mailto:admin@localhost"
    )]
    pub push_contact: String,

    /// After a push to a user, further messages for them wait this long and go as one push
    /// ("5 new messages in #dev").
    #[arg(long, env = "BANTER_PUSH_BATCH", default_value = "5s", value_parser = humantime::parse_duration)]
    pub push_batch: Duration,

    /// Messages waiting to be considered for a push at most; past it they are dropped (and
    /// counted), never slowing posting.
    #[arg(long, env = "BANTER_PUSH_QUEUE", default_value_t = 10_000)]
    pub push_queue: usize,

    /// Push subscriptions (browsers) one user may have at most.
    #[arg(long, env = "BANTER_PUSH_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub push_max_subscriptions: usize,

    /// Characters of a message's text a push's preview carries at most.
    #[arg(long, env = "BANTER_PUSH_PREVIEW_CHARS", default_value_t = 120)]
    pub push_preview_chars: usize,

    /// How long one request to a push service may take.
    #[arg(long, env = "BANTER_PUSH_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub push_timeout: Duration,
}
