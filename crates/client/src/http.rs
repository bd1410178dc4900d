//! The HTTP API from a script: [`Http`] posts (and, v1.2, replies, edits, deletes, reacts, and
//! reads pages and threads), retrying what may not have arrived (connection failures, 5xx) with the same
//! `client_id`, so a message or an edit is stored once. [`post_http`] is the one-call post.
//!
//! Who acts: with a token, the token's user (`Authorization: Bearer`); without (an `--auth open`
//! server), `cfg.name`, in the body of a post and as `?user=` on the v1.2 change routes, whose
//! bodies have no user field.

use banter_protocol::ChatMessage;
use banter_protocol::http::{ApiError, EditMessage, MessagePage, PostMessage, Posted, ThreadPage};
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;

use crate::{Backoff, ClientConfig, ClientError, new_client_id};

/// Attempts before giving up on an unreachable server.
pub const POST_ATTEMPTS: u32 = 5;

/// Posts `text` to `room` as `cfg.name` (or the token's user); returns the stored message.
pub async fn post_http(
    cfg: &ClientConfig,
    room: &str,
    text: &str,
) -> Result<ChatMessage, ClientError> {
    Http::new(cfg)?.post(room, text, None).await
}

/// The HTTP API of one server, as one user.
pub struct Http {
    cfg: ClientConfig,
    base: String,
    client: reqwest::Client,
}

impl Http {
    pub fn new(cfg: &ClientConfig) -> Result<Http, ClientError> {
        let mut client = reqwest::Client::builder();
        if cfg.is_tls()? {
            let tls = crate::tls::client_config(cfg.ca_file.as_deref())?;
            client = client.use_preconfigured_tls(rustls::ClientConfig::clone(&tls));
        }
        let client = client
            .build()
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        Ok(Http {
            base: cfg.http_url()?,
            cfg: cfg.clone(),
            client,
        })
    }

    /// Posts `text` to `room` (with `reply_to`, in that message's thread); returns the stored
    /// message.
    pub async fn post(
        &self,
        room: &str,
        text: &str,
        reply_to: Option<u64>,
    ) -> Result<ChatMessage, ClientError> {
        let body = PostMessage {
            user: self.cfg.name.clone(),
            text: text.to_owned(),
            client_id: Some(new_client_id()),
            reply_to,
            files: Vec::new(),
        };
        let url = self.url(room, &[])?;
        self.call(|| self.client.post(url.clone()).json(&body))
            .await
    }

    /// `PATCH /api/rooms/{room}/messages/{seq}`: replaces the text of your message `seq`;
    /// returns the change entry's `seq`.
    pub async fn edit(&self, room: &str, seq: u64, text: &str) -> Result<u64, ClientError> {
        let body = EditMessage {
            text: text.to_owned(),
            client_id: Some(new_client_id()),
        };
        let url = self.change_url(room, &[&seq.to_string()], None)?;
        let posted: Posted = self
            .call(|| self.client.patch(url.clone()).json(&body))
            .await?;
        Ok(posted.seq)
    }

    /// `DELETE /api/rooms/{room}/messages/{seq}`: deletes message `seq`; returns the change
    /// entry's `seq`.
    pub async fn delete(&self, room: &str, seq: u64) -> Result<u64, ClientError> {
        let id = new_client_id();
        let url = self.change_url(room, &[&seq.to_string()], Some(&id))?;
        let posted: Posted = self.call(|| self.client.delete(url.clone())).await?;
        Ok(posted.seq)
    }

    /// `PUT` (or with `remove`, `DELETE`) `/api/rooms/{room}/messages/{seq}/reactions/{emoji}`;
    /// returns the reaction's entry `seq` (0 when it changed nothing: given twice, or taken back
    /// when not given).
    pub async fn react(
        &self,
        room: &str,
        seq: u64,
        emoji: &str,
        remove: bool,
    ) -> Result<u64, ClientError> {
        let id = new_client_id();
        let segments = [&seq.to_string(), "reactions", emoji];
        let url = self.change_url(room, &segments, Some(&id))?;
        let method = if remove { Method::DELETE } else { Method::PUT };
        let posted: Posted = self
            .call(|| self.client.request(method.clone(), url.clone()))
            .await?;
        Ok(posted.seq)
    }

    /// `GET /api/rooms/{room}/messages?since=SEQ&limit=N`: the messages after `since` in their
    /// current state, with the change entries of the page's range.
    pub async fn page(
        &self,
        room: &str,
        since: u64,
        limit: u32,
    ) -> Result<MessagePage, ClientError> {
        let mut url = self.url(room, &[])?;
        url.query_pairs_mut()
            .append_pair("since", &since.to_string())
            .append_pair("limit", &limit.to_string());
        self.call(|| self.client.get(url.clone())).await
    }

    /// `GET /api/rooms/{room}/threads/{seq}`: the thread rooted at `seq` (its root and replies,
    /// folded).
    pub async fn thread(&self, room: &str, seq: u64) -> Result<ThreadPage, ClientError> {
        let mut url = self.path(&["api", "rooms", room, "threads", &seq.to_string()])?;
        if self.cfg.token.is_none() {
            url.query_pairs_mut().append_pair("user", &self.cfg.name);
        }
        self.call(|| self.client.get(url.clone())).await
    }

    /// `/api/rooms/{room}/messages` and then `more` path segments (each percent-encoded).
    fn url(&self, room: &str, more: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.path(&["api", "rooms", room, "messages"])?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Url(self.base.clone()))?
            .extend(more);
        Ok(url)
    }

    /// The base URL with these path segments (each percent-encoded).
    fn path(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = Url::parse(&self.base).map_err(|_| ClientError::Url(self.base.clone()))?;
        url.path_segments_mut()
            .map_err(|()| ClientError::Url(self.base.clone()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// [`Self::url`] for a change route: names the user in `?user=` when there is no token,
    /// and the request's `?client_id=` (a route without a body), so a retry is stored once.
    fn change_url(
        &self,
        room: &str,
        more: &[&str],
        client_id: Option<&str>,
    ) -> Result<Url, ClientError> {
        let mut url = self.url(room, more)?;
        if self.cfg.token.is_none() {
            url.query_pairs_mut().append_pair("user", &self.cfg.name);
        }
        if let Some(id) = client_id {
            url.query_pairs_mut().append_pair("client_id", id);
        }
        Ok(url)
    }

    /// Sends the request `make` builds, again after a connection failure or a 5xx (the same
    /// body: the same `client_id`); decodes a success, names a refusal.
    async fn call<T: DeserializeOwned>(
        &self,
        make: impl Fn() -> RequestBuilder,
    ) -> Result<T, ClientError> {
        let backoff: Backoff = self.cfg.backoff;
        let mut last = String::new();
        for attempt in 0..POST_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff.delay(attempt - 1)).await;
            }
            let mut req = make();
            if let Some(token) = &self.cfg.token {
                req = req.bearer_auth(token);
            }
            let res = match req.send().await {
                Ok(res) => res,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = res.status();
            if status.is_success() {
                return res
                    .json::<T>()
                    .await
                    .map_err(|e| ClientError::Unreachable(e.to_string()));
            }
            if status.is_server_error() {
                last = format!("HTTP {status}");
                continue;
            }
            return Err(match res.json::<ApiError>().await {
                Ok(e) => ClientError::Refused {
                    code: e.code.to_string(),
                    message: e.message,
                },
                Err(_) => ClientError::Refused {
                    code: status.as_u16().to_string(),
                    message: status.to_string(),
                },
            });
        }
        Err(ClientError::Unreachable(last))
    }
}
