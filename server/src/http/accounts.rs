//! The HTTP side of `--auth accounts` (docs/protocol.md, "Accounts"; the service is
//! [`crate::accounts`]):
//! - without a token: `GET /api/session` (`{"accounts": bool}`, on every server), `POST
//!   /api/signup`, `POST /api/login`, `POST /api/session/renew` (the
//!   remembered session's cookie), `POST /api/session/logout` (forgets this device's cookie);
//! - with one: `GET /api/account`, `POST /api/password`, `POST /api/session/everywhere` (sign
//!   out everywhere);
//! - admins only: `GET`/`POST /api/users`, `PATCH /api/users/{name}`, `GET`/`POST
//!   /api/invites`, `DELETE /api/invites/{id}`.
//!
//! Signup, login and renewal answer `LoginOk` and set the session cookie. On a server without
//! accounts every route answers `404`.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use banter_protocol::http::{
    Account, InviteInfo, Login, LoginOk, NewUser, PasswordChange, Signup, UserInfo, UserPatch,
};
use serde::Deserialize;

use crate::AppState;
use crate::accounts::{Accounts, Session, cookie};
use crate::error::ApiError;
use crate::http_guard::{Caller, caller_of};
use crate::store::accounts::{UserChange, UserRecord};

/// The routes that need no token (checked by the guard before the bearer).
const PUBLIC: &[&str] = &[
    "/api/session",
    "/api/signup",
    "/api/login",
    "/api/session/renew",
    "/api/session/logout",
];

/// Whether `path` is one of the routes that need no token.
pub fn is_public(path: &str) -> bool {
    PUBLIC.contains(&path)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/session", get(session))
        .route("/api/signup", post(signup))
        .route("/api/login", post(login))
        .route("/api/session/renew", post(renew))
        .route("/api/session/logout", post(logout))
        .route("/api/session/everywhere", post(everywhere))
        .route("/api/account", get(account))
        .route("/api/password", post(password))
        .route("/api/users", get(users).post(add_user))
        .route("/api/users/{name}", patch(patch_user))
        .route("/api/invites", get(invites).post(add_invite))
        .route("/api/invites/{id}", delete(revoke_invite))
}

/// The client's address (behind a trusted proxy, the one it forwarded for).
struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(crate::limit::proxy::client_ip(&parts.extensions)))
    }
}

fn service(app: &AppState) -> Result<&Accounts, ApiError> {
    app.accounts.as_ref().ok_or(ApiError::NotFound)
}

/// The signed-in user (a token is required).
fn user_of(app: &AppState, caller: Option<Extension<Caller>>) -> Result<String, ApiError> {
    match caller_of(app, caller)?.0 {
        Some(c) => Ok(c.user.to_string()),
        None => Err(ApiError::Unauthorized(crate::auth::AuthError::Missing)),
    }
}

/// `LoginOk` with the session cookie.
fn opened(accounts: &Accounts, status: StatusCode, s: Session) -> Response {
    let secs = accounts.remember().as_secs();
    let set = cookie::set(&s.refresh, secs, accounts.secure_cookie());
    (
        status,
        [
            (header::SET_COOKIE, set),
            (
                header::CACHE_CONTROL,
                "no-store"
                    .parse()
                    .unwrap_or(header::HeaderValue::from_static("no-store")),
            ),
        ],
        Json::<LoginOk>(s.ok),
    )
        .into_response()
}

/// `GET /api/session`: `{"accounts": bool}`, whether this server has accounts (so the web app
/// asks for nothing else where there are none). Every server answers it.
async fn session(State(app): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"accounts": app.accounts.is_some()}))
}

async fn signup(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<Json<Signup>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let accounts = service(&app)?;
    let Json(b) = body?;
    let s = accounts.signup(ip, &b.invite, &b.name, b.password).await?;
    Ok(opened(accounts, StatusCode::CREATED, s))
}

async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let accounts = service(&app)?;
    let Json(b) = body?;
    let device = accounts.cookie_user(cookie::read(&headers));
    let s = accounts.login(ip, b.name, b.password, device).await?;
    Ok(opened(accounts, StatusCode::OK, s))
}

async fn renew(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let accounts = service(&app)?;
    let Some(held) = cookie::read(&headers) else {
        // No remembered session on this device: nothing to renew (not an error).
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    match accounts.renew(Some(held)).await {
        Ok(s) => Ok(opened(accounts, StatusCode::OK, s)),
        Err(e @ ApiError::Unauthorized(_)) => {
            // A dead session's cookie is removed with the refusal.
            let clear = cookie::clear(accounts.secure_cookie());
            Ok(([(header::SET_COOKIE, clear)], e).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn logout(State(app): State<AppState>) -> Result<Response, ApiError> {
    let accounts = service(&app)?;
    let clear = cookie::clear(accounts.secure_cookie());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn everywhere(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Result<Response, ApiError> {
    let accounts = service(&app)?;
    let user = user_of(&app, caller)?;
    accounts
        .change(&user, UserChange::SignOutEverywhere)
        .await?;
    let clear = cookie::clear(accounts.secure_cookie());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

async fn account(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Account>, ApiError> {
    let accounts = service(&app)?;
    let user = user_of(&app, caller)?;
    let role = accounts
        .user(&user)
        .await?
        .map(|r| r.role)
        .unwrap_or_default();
    Ok(Json(Account { user, role }))
}

async fn password(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Result<Json<PasswordChange>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let accounts = service(&app)?;
    let user = user_of(&app, caller)?;
    let Json(b) = body?;
    // A device remembered as this user is not held up by others' guesses at the name.
    let own_device = accounts.cookie_user(cookie::read(&headers)).as_deref() == Some(user.as_str());
    let s = accounts
        .change_password(&user, b.old, b.new, own_device)
        .await?;
    Ok(opened(accounts, StatusCode::OK, s))
}

/// The signed-in admin.
async fn admin(app: &AppState, caller: Option<Extension<Caller>>) -> Result<String, ApiError> {
    let user = user_of(app, caller)?;
    service(app)?.require_admin(&user).await?;
    Ok(user)
}

fn info(r: &UserRecord) -> UserInfo {
    UserInfo {
        name: r.name.clone(),
        role: r.role,
        disabled: r.disabled,
    }
}

async fn users(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Vec<UserInfo>>, ApiError> {
    admin(&app, caller).await?;
    let list = service(&app)?.users().await?;
    Ok(Json(list.iter().map(info).collect()))
}

async fn add_user(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    let by = admin(&app, caller).await?;
    let Json(b) = body?;
    let rec = service(&app)?.add_user(&b.name, b.password, b.role).await?;
    tracing::info!(user = rec.name, by, "user added");
    Ok((StatusCode::CREATED, Json(info(&rec))))
}

async fn patch_user(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    name: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Json<UserPatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<UserInfo>, ApiError> {
    let by = admin(&app, caller).await?;
    let Path(name) = name?;
    let Json(b) = body?;
    let accounts = service(&app)?;
    let mut rec = accounts.user(&name).await?.ok_or(ApiError::NotFound)?;
    if let Some(password) = b.password {
        rec = accounts.reset_password(&name, password).await?;
        tracing::info!(user = name, by, "password reset by an admin");
    }
    if let Some(role) = b.role {
        rec = accounts.change(&name, UserChange::Role(role)).await?;
        tracing::info!(user = name, by, ?role, "role changed");
    }
    if let Some(disabled) = b.disabled {
        rec = accounts
            .change(&name, UserChange::Disabled(disabled))
            .await?;
        tracing::info!(user = name, by, disabled, "user disabled or enabled");
    }
    Ok(Json(info(&rec)))
}

async fn invites(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Vec<InviteInfo>>, ApiError> {
    admin(&app, caller).await?;
    let list = service(&app)?.invites().await?;
    Ok(Json(
        list.into_iter()
            .map(|i| InviteInfo {
                id: i.code,
                expires: i.expires,
                created_by: i.created_by,
                used_by: i.used_by,
                revoked: i.revoked,
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct InviteBody {
    ttl_secs: Option<u64>,
}

async fn add_invite(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    body: Option<Json<InviteBody>>,
) -> Result<impl IntoResponse, ApiError> {
    let by = admin(&app, caller).await?;
    let ttl = body.and_then(|Json(b)| b.ttl_secs).map(Duration::from_secs);
    let made = service(&app)?.invite(&by, ttl).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

async fn revoke_invite(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    admin(&app, caller).await?;
    let Path(id) = id?;
    service(&app)?.revoke_invite(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
