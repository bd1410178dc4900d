//! v1.2 accounts, the admin's side (`--auth accounts`): who is signed in, users and invites.
//! Not in the frozen contract's list of names; added beside it (extend, don't rename).

use serde::{Deserialize, Serialize};

use crate::UserRole;

/// `GET /api/account`: who the token is for, and their server role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: String,
    pub role: UserRole,
}

/// One user in `GET /api/users` (admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    pub role: UserRole,
    pub disabled: bool,
}

/// Body of `POST /api/users` (admins only): add a user with a password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub password: String,
    #[serde(default)]
    pub role: UserRole,
}

/// Body of `PATCH /api/users/{name}` (admins only): any of the fields; a new password or
/// `disabled: true` ends the user's sessions at once.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<UserRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// One invite in `GET /api/invites` (admins only). The code itself is shown once, when it is
/// made; `id` names it afterwards (`DELETE /api/invites/{id}` revokes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub id: String,
    /// Seconds since the Unix epoch.
    pub expires: u64,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    pub revoked: bool,
}

/// Answer of `POST /api/invites` (admins only; body `{"ttl_secs"?}`): the code, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvite {
    pub id: String,
    pub code: String,
    pub expires: u64,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UserPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPatch")
            .field("disabled", &self.disabled)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
