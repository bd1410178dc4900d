//! Sending one user's batch: their settings and subscriptions read from the store, muted rooms
//! left out, the notice composed once, then for each subscription encrypted for it (RFC 8291
//! `aes128gcm` through `ece`: a fresh key and salt per request) and POSTed with the VAPID header.
//! A `404`/`410` answer means the subscription is gone: it is removed. Each request is counted
//! in `banter_pushes_total`.

use std::sync::Arc;
use std::time::Duration;

use banter_protocol::http::PushSubscription;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Client, StatusCode};

use super::batch::Batch;
use super::compose;
use super::endpoint::{Endpoints, PublicOnly};
use super::vapid::Vapid;
use crate::metrics::{self, PushOutcome, PushSkipped};
use crate::store::Store;

/// How long a push service keeps a push for an offline browser (`TTL`, seconds).
const TTL_SECS: u32 = 24 * 3600;

/// Everything a delivery needs; shared by the worker's sends.
pub struct Sender {
    pub store: Store,
    pub endpoints: Endpoints,
    pub preview_chars: usize,
    /// For endpoints outside `--push-allow-endpoint`: only public addresses.
    guarded: Client,
    /// For endpoints under `--push-allow-endpoint`.
    allowed: Client,
}

impl Sender {
    pub fn new(
        store: Store,
        endpoints: Endpoints,
        preview_chars: usize,
        timeout: Duration,
    ) -> Self {
        let base = || {
            Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("banter/", env!("CARGO_PKG_VERSION")))
        };
        let build = |b: reqwest::ClientBuilder| {
            b.build().unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot build the push client; pushes will fail");
                Client::new()
            })
        };
        Sender {
            store,
            endpoints,
            preview_chars,
            guarded: build(base().https_only(true).dns_resolver(Arc::new(PublicOnly))),
            allowed: build(base()),
        }
    }

    /// Sends `batch` to its user's subscriptions (see the module docs).
    pub async fn deliver(&self, vapid: &Vapid, batch: Batch) {
        let user = batch.user.clone();
        let loaded = self
            .store
            .push(move |p| Ok((p.settings(&user)?, p.subscriptions(&user)?)))
            .await;
        let (settings, subs) = match loaded {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "push settings could not be read; a push was dropped");
                metrics::push(PushOutcome::Failed);
                return;
            }
        };
        let mut batch = batch;
        let before = batch.count();
        batch
            .rooms
            .retain(|r| !settings.muted.contains(&r.last.room));
        let muted = before - batch.count();
        if muted > 0 {
            metrics::push_skipped(PushSkipped::Muted, u64::from(muted));
        }
        let Some(notice) = compose::notice(&batch, settings.previews, self.preview_chars) else {
            return;
        };
        if subs.is_empty() {
            metrics::push_skipped(PushSkipped::Unsubscribed, u64::from(batch.count()));
            return;
        }
        let payload = serde_json::to_vec(&notice).unwrap_or_default();
        for sub in subs {
            let outcome = self.send(vapid, &sub, &payload, notice.mention).await;
            if outcome == PushOutcome::Gone {
                let (user, endpoint) = (batch.user.clone(), sub.endpoint.clone());
                if let Err(e) = self
                    .store
                    .push(move |p| p.unsubscribe(&user, &endpoint))
                    .await
                {
                    tracing::warn!(error = %e, "an expired push subscription was not removed");
                }
            }
            metrics::push(outcome);
        }
    }

    /// One encrypted request to one subscription.
    async fn send(
        &self,
        vapid: &Vapid,
        sub: &PushSubscription,
        payload: &[u8],
        urgent: bool,
    ) -> PushOutcome {
        match self.try_send(vapid, sub, payload, urgent).await {
            Ok(status) if status.is_success() => PushOutcome::Sent,
            Ok(StatusCode::NOT_FOUND | StatusCode::GONE) => PushOutcome::Gone,
            Ok(status) => {
                tracing::info!(%status, "a push service refused a push");
                PushOutcome::Failed
            }
            Err(e) => {
                tracing::info!(error = %e, "a push could not be sent");
                PushOutcome::Failed
            }
        }
    }

    async fn try_send(
        &self,
        vapid: &Vapid,
        sub: &PushSubscription,
        payload: &[u8],
        urgent: bool,
    ) -> Result<StatusCode, String> {
        let url = self.endpoints.check_now(&sub.endpoint)?;
        let key = URL_SAFE_NO_PAD
            .decode(&sub.keys.p256dh)
            .map_err(|e| e.to_string())?;
        let auth = URL_SAFE_NO_PAD
            .decode(&sub.keys.auth)
            .map_err(|e| e.to_string())?;
        let body = ece::encrypt(&key, &auth, payload).map_err(|e| e.to_string())?;
        let client = if self.endpoints.allowed(&sub.endpoint) {
            &self.allowed
        } else {
            &self.guarded
        };
        let answer = client
            .post(url.clone())
            .header("Authorization", vapid.header(&url)?)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("TTL", TTL_SECS.to_string())
            .header("Urgency", if urgent { "high" } else { "normal" })
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer.status())
    }
}
