//! The first-request deadline: an accepted socket must deliver one complete request head within
//! `--http-header-timeout` of being accepted, or it is closed.
//!
//! hyper's own header timeout starts only once hyper-util's auto builder has decided between
//! HTTP/1 and HTTP/2, and that detection waits for bytes with no timer (hyperium/hyper#3756,
//! #3962): a socket that sends nothing, or half of the HTTP/2 preface, was held forever; and on
//! HTTP/2 there is no header timeout at all. So the whole life of a connection, TLS handshake and
//! detection included, races a timer, and the first request head that reaches the service (HTTP/1
//! or HTTP/2) disarms it. After that, HTTP/1 requests are bounded by hyper's header timeout
//! (which also closes idle keep-alive connections) and HTTP/2 by its pings.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set once a connection's first request head has been parsed. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FirstRequest(Arc<AtomicBool>);

impl FirstRequest {
    /// A request head arrived: the deadline no longer applies.
    pub fn seen(&self) {
        if !self.0.load(Ordering::Relaxed) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    fn was_seen(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs `conn` to its end, unless no request head was seen within `limit` (zero: no limit):
/// then `conn` is dropped, which closes the socket, and the answer is `None`.
pub async fn first_request<F: Future>(
    conn: F,
    limit: Duration,
    first: &FirstRequest,
) -> Option<F::Output> {
    if limit.is_zero() {
        return Some(conn.await);
    }
    tokio::pin!(conn);
    tokio::select! {
        out = &mut conn => return Some(out),
        () = tokio::time::sleep(limit) => {}
    }
    if first.was_seen() {
        Some(conn.await)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_without_a_request_is_dropped_and_one_with_a_request_runs_on() {
        let first = FirstRequest::default();
        let silent = first_request(std::future::pending::<()>(), Duration::from_secs(2), &first);
        assert_eq!(silent.await, None);

        let seen = first.clone();
        let served = async move {
            seen.seen();
            tokio::time::sleep(Duration::from_secs(60)).await;
            "served"
        };
        assert_eq!(
            first_request(served, Duration::from_secs(2), &first).await,
            Some("served")
        );
        let none = FirstRequest::default();
        assert_eq!(
            first_request(async { 1 }, Duration::ZERO, &none).await,
            Some(1)
        );
    }
}
