//! The door of the HTTP API (`/api/...`): the request rate per client address (behind a
//! `--trusted-proxy`, the address it forwarded for) and per token user (`--http-rate-per-sec`,
//! `429` with `retry-after`), and, in token mode, the `Authorization: Bearer` check
//! (`401 unauthorized`). The verified caller travels to the handlers as a [`Caller`] extension.
//! `/healthz` passes untouched.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use banter_protocol::AuthMode;

use crate::AppState;
use crate::auth::{AuthError, Claims, bearer_token};
use crate::error::ApiError;
use crate::limit::proxy::client_ip;

/// Who made an HTTP request: the verified token in token mode, `None` in open mode.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Claims>);

impl Caller {
    /// The user a post is made as: the token's user (a different non-empty `user` field is
    /// refused with `403 forbidden`), or in open mode the `user` field itself.
    pub fn poster(&self, user_field: &str) -> Result<String, ApiError> {
        match &self.0 {
            None => Ok(user_field.to_owned()),
            Some(c) if user_field.is_empty() || user_field == &*c.user => Ok(c.user.to_string()),
            Some(c) => Err(ApiError::Denied(format!(
                "your token is for `{}`: you may not post as `{user_field}`",
                c.user
            ))),
        }
    }

    /// Refuses rooms outside the token's `rooms` claim with `403 forbidden`.
    pub fn room(&self, room: &str) -> Result<(), ApiError> {
        match &self.0 {
            Some(c) if !c.allows_room(room) => Err(ApiError::Denied(format!(
                "your token does not allow the room `{room}`"
            ))),
            _ => Ok(()),
        }
    }

    /// Who reads a private conversation or lists conversations: the token's user, or in open
    /// mode the `?user=` the request names (open mode trusts names: see docs/security.md).
    pub fn reader(&self, asked: Option<&str>) -> Result<String, ApiError> {
        match (&self.0, asked) {
            (Some(c), None) => Ok(c.user.to_string()),
            (Some(c), Some(a)) if a == &*c.user => Ok(c.user.to_string()),
            (Some(c), Some(a)) => Err(ApiError::Denied(format!(
                "your token is for `{}`: you may not read as `{a}`",
                c.user
            ))),
            (None, Some(a)) => Ok(a.to_owned()),
            (None, None) => Err(ApiError::BadRequest(
                "say who you are: add ?user=NAME (or send a token)".into(),
            )),
        }
    }

    /// Whether the caller may see `room` (listing rooms).
    pub fn sees(&self, room: &str) -> bool {
        self.0.as_ref().is_none_or(|c| c.allows_room(room))
    }

    /// The token's `rooms` claim, when it limits the rooms.
    pub fn rooms_claim(&self) -> Option<std::sync::Arc<[String]>> {
        self.0.as_ref().and_then(|c| c.rooms.clone())
    }
}

/// The middleware; see the module docs.
pub async fn guard(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    if let Some(ip) = client_ip(req.extensions())
        && let Err(wait) = app.http_rate.check_ip(ip)
    {
        return ApiError::RateLimited(wait).into_response();
    }
    let caller = match identify(&app, &req) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Some(claims) = &caller.0
        && let Err(wait) = app.http_rate.check_user(&claims.user)
    {
        return ApiError::RateLimited(wait).into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

fn identify(app: &AppState, req: &Request) -> Result<Caller, ApiError> {
    let identity = &app.conn.identity;
    if identity.mode() == AuthMode::Open || crate::http::accounts::is_public(req.uri().path()) {
        return Ok(Caller(None));
    }
    let token = bearer_token(req.headers()).ok_or(ApiError::Unauthorized(AuthError::Missing))?;
    identity
        .verify(token)
        .map(|c| Caller(Some(c)))
        .map_err(ApiError::Unauthorized)
}

/// The caller of a handler: what [`guard`] found. Without the guard (a router built without
/// it), token mode refuses everything rather than trust the body.
pub fn caller_of(app: &AppState, ext: Option<axum::Extension<Caller>>) -> Result<Caller, ApiError> {
    match ext {
        Some(axum::Extension(c)) => Ok(c),
        None if app.conn.identity.mode() == AuthMode::Open => Ok(Caller(None)),
        None => Err(ApiError::Unauthorized(AuthError::Missing)),
    }
}
