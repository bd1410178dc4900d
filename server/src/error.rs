//! The HTTP error type: one enum, answered as `{"code", "message"}` JSON with a fitting status.
//!
//! Internal failures are logged with their details; the client is told only `internal`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use banter_protocol::http::ApiError as ApiErrorBody;
use banter_protocol::{ErrorCode, ValidationError};

use crate::auth::AuthError;
use crate::limit::http_rate::retry_after_secs;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field broke the contract's rules.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// The request could not be understood (bad JSON, bad query).
    #[error("{0}")]
    BadRequest(String),
    /// The body is over `--max-body-bytes`.
    #[error("{0}")]
    TooLarge(String),
    #[error("this origin may not open a WebSocket here")]
    Forbidden,
    #[error("no such route")]
    NotFound,
    /// v1.2: no such file, or one in a room the caller may not read.
    #[error("no such file")]
    FileNotFound,
    #[error("the server is at its connection limit, try again later")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Token mode: no valid `Authorization: Bearer` token (`401`, `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    Unauthorized(AuthError),
    /// Token mode: the token does not allow this (another `user`, a room outside its claim).
    #[error("{0}")]
    Denied(String),
    /// Over `--http-rate-per-sec`: `429` with `retry-after`.
    #[error("too many requests: retry after {} s", retry_after_secs(*.0))]
    RateLimited(std::time::Duration),
    /// Over `--max-connections-per-ip` at the WebSocket door.
    #[error("too many open connections from your address")]
    TooManyConnections,
}

impl ApiError {
    /// The error code a client is told.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Invalid(e) => e.code,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::TooLarge(_) => ErrorCode::TooLarge,
            ApiError::Forbidden => ErrorCode::Forbidden,
            ApiError::NotFound | ApiError::FileNotFound => ErrorCode::NotFound,
            ApiError::Unavailable => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Denied(_) => ErrorCode::Forbidden,
            ApiError::RateLimited(_) | ApiError::TooManyConnections => ErrorCode::RateLimited,
        }
    }
}

/// The HTTP status that goes with an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::BadRequest
        | ErrorCode::InvalidName
        | ErrorCode::InvalidRoom
        | ErrorCode::InvalidText
        | ErrorCode::NotJoined
        | ErrorCode::UnknownUser
        | ErrorCode::NameTaken => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = %e, "internal error");
        }
        let code = self.code();
        let body = ApiErrorBody {
            code,
            message: self.to_string(),
        };
        let mut res = (status_of(code), Json(body)).into_response();
        let headers = res.headers_mut();
        match &self {
            ApiError::RateLimited(wait) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(*wait)),
                );
            }
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        res
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge("the request body is too large".into())
        } else {
            ApiError::BadRequest(r.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        // Store internals are logged where they happen; the client gets a retryable refusal.
        ApiError::Invalid(crate::hub::refusal(&e))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}
