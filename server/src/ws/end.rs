//! How a connection ends ([`End`]: its close code and reason, for the client and the log) and
//! the per-connection timer that can end it ([`Deadline`]: the hello and token deadlines).

use std::time::Duration;

use axum::extract::ws::CloseFrame;
use banter_protocol::close;
use tokio::time::{Instant, Sleep, sleep};

use crate::metrics::Kick;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Shutdown,
    TooSlow,
    Idle,
    TooBig,
    ClientClosed,
    Broken,
    /// Token mode: no valid `auth` first, or the token expired (the message was sent before).
    Unauthorized,
    /// `--auth accounts`: the user's sessions were revoked (disabled, password changed, signed
    /// out everywhere) while connected.
    Revoked,
    /// Token mode: the classic `/` dialect has no way to present a token.
    ClassicRefused,
    /// Open mode: no accepted `join` within `--auth-timeout`.
    NoHello,
}

impl End {
    /// The close code and reason the client sees (for the log: the client's own code when it
    /// closed, none when the connection broke).
    pub(super) fn describe(self, client: Option<&CloseFrame>) -> (Option<u16>, String) {
        match (self.close_frame(), client) {
            (Some(f), _) => (Some(f.code), f.reason.to_string()),
            (None, Some(f)) => (Some(f.code), format!("client: {}", f.reason.as_str())),
            (None, None) if self == End::ClientClosed => (None, "client closed".into()),
            (None, None) => (None, "connection broken".into()),
        }
    }

    pub(super) fn kick(self) -> Option<Kick> {
        match self {
            End::TooSlow => Some(Kick::TooSlow),
            End::Idle => Some(Kick::Idle),
            End::TooBig => Some(Kick::TooBig),
            _ => None,
        }
    }

    pub(super) fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            End::Shutdown => (close::GOING_AWAY, "server shutting down"),
            End::TooSlow => (close::TOO_SLOW, "too slow: reconnect and resume with since"),
            End::Idle => (
                close::TOO_SLOW,
                "idle timeout: reconnect and resume with since",
            ),
            End::TooBig => (close::TOO_BIG, "message too big"),
            End::Unauthorized => (close::UNAUTHORIZED, "unauthorized: get a new token"),
            End::Revoked => (
                close::UNAUTHORIZED,
                "unauthorized: signed out (password changed or account disabled)",
            ),
            End::ClassicRefused => (
                close::UNAUTHORIZED,
                "this server needs tokens: use /ws and send auth first",
            ),
            End::NoHello => (close::POLICY, "no valid frame within the auth timeout"),
            End::ClientClosed | End::Broken => return None,
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }
}

/// A per-connection timer, armed only while it matters: before the first valid frame (the
/// hello deadline) and, in token mode, until the token expires. Established open-mode
/// connections own no timer at all (pings follow the server-wide heartbeat).
pub(super) struct Deadline {
    sleep: std::pin::Pin<Box<Sleep>>,
    /// What passing it means.
    end: End,
}

impl Deadline {
    pub(super) fn after(d: Duration, end: End) -> Option<Deadline> {
        Some(Deadline {
            sleep: Box::pin(sleep(d)),
            end,
        })
    }
}

/// Waits for the deadline, or forever when there is none.
pub(super) async fn passed(deadline: &mut Option<Deadline>) -> End {
    match deadline {
        Some(d) => {
            d.sleep.as_mut().await;
            d.end
        }
        None => std::future::pending().await,
    }
}

/// The deadline's meaning if it has passed (checked between frames, for clients that keep the
/// read branch busy).
pub(super) fn overdue(deadline: &Option<Deadline>) -> Option<End> {
    deadline
        .as_ref()
        .filter(|d| Instant::now() >= d.sleep.deadline())
        .map(|d| d.end)
}
