//! v1.2 accounts (`--auth accounts`): sign-up, login and password change bodies.

use serde::{Deserialize, Serialize};

/// Body of `POST /api/signup`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signup {
    /// An invite code from `banter invite` or the admin page.
    pub invite: String,
    pub name: String,
    pub password: String,
}

/// Body of `POST /api/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub name: String,
    pub password: String,
}

/// Body of `POST /api/password`: change your own password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    pub old: String,
    pub new: String,
}

/// Answer of signup, login and token renewal: a short-lived token for `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOk {
    pub user: String,
    pub token: String,
    /// When the token expires, in seconds since the Unix epoch.
    pub exp: u64,
}

// Passwords never appear in logs, not even in a debug print.
impl std::fmt::Debug for Signup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signup")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { .. }")
    }
}
