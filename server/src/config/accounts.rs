//! The flags of `--auth accounts` (docs/security.md, "Accounts"): password hashing, session
//! lifetimes, invites and the guessing limit.

use std::time::Duration;

/// See the module docs. Flattened into [`super::Config`].
#[derive(Debug, Clone, clap::Args)]
pub struct AccountsConfig {
    /// Argon2id memory cost per password hash, in KiB (OWASP's 19 MiB by default).
    #[arg(long, env = "BANTER_ARGON2_MEMORY_KIB", default_value_t = 19 * 1024)]
    pub argon2_memory_kib: u32,

    /// Argon2id passes over the memory.
    #[arg(long, env = "BANTER_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// Argon2id lanes.
    #[arg(long, env = "BANTER_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// Password hashes computed at once (each takes `--argon2-memory-kib`); more wait their
    /// turn. 0 = one per CPU core.
    #[arg(long, env = "BANTER_PASSWORD_HASHES", default_value_t = 0)]
    pub password_hashes: usize,

    /// Shortest password accepted, in characters.
    #[arg(long, env = "BANTER_PASSWORD_MIN_CHARS", default_value_t = 8)]
    pub password_min_chars: usize,

    /// Longest password accepted, in bytes.
    #[arg(long, env = "BANTER_PASSWORD_MAX_BYTES", default_value_t = 1024)]
    pub password_max_bytes: usize,

    /// How long a token from login, sign-up or renewal is valid; the web app renews it before.
    #[arg(long, env = "BANTER_SESSION_TOKEN_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub session_token_ttl: Duration,

    /// How long a remembered session (the `HttpOnly` refresh cookie) lasts without use; each
    /// renewal starts it again.
    #[arg(long, env = "BANTER_SESSION_REMEMBER", default_value = "30d", value_parser = humantime::parse_duration)]
    pub session_remember: Duration,

    /// Mark the session cookie `Secure` (only sent over https). Always on with `--tls-cert`;
    /// set it behind a proxy that terminates TLS.
    #[arg(long, env = "BANTER_SESSION_COOKIE_SECURE")]
    pub session_cookie_secure: bool,

    /// How long an invite code is valid, unless its creator says otherwise.
    #[arg(long, env = "BANTER_INVITE_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub invite_ttl: Duration,

    /// Login and sign-up attempts per minute from one client address (a burst of as many).
    #[arg(long, env = "BANTER_LOGIN_PER_ADDRESS_PER_MIN", default_value_t = 20)]
    pub login_per_address_per_min: u32,

    /// Failed logins for one name before it is slowed down; then each failure doubles the wait
    /// (1 s, 2 s, 4 s, ...) up to `--login-max-wait`.
    #[arg(long, env = "BANTER_LOGIN_FREE_FAILURES", default_value_t = 5)]
    pub login_free_failures: u32,

    /// The longest a name's failed logins make the next attempt wait; a device that has signed
    /// in as that name before (it holds a session cookie for it) is never made to wait.
    #[arg(long, env = "BANTER_LOGIN_MAX_WAIT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub login_max_wait: Duration,

    /// How often the server looks for account changes made elsewhere (`banter user ...`,
    /// other nodes), to end revoked sessions.
    #[arg(long, env = "BANTER_ACCOUNTS_POLL", default_value = "250ms", value_parser = humantime::parse_duration)]
    pub accounts_poll: Duration,
}
