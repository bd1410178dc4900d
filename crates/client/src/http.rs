//! The HTTP API from a script: [`post_http`] posts one message, retrying what may not have
//! arrived (connection failures, 5xx) with the same `client_id`, so it is stored once.

use banter_protocol::ChatMessage;
use banter_protocol::http::{ApiError, PostMessage};

use crate::{Backoff, ClientConfig, ClientError, new_client_id};

/// Attempts before giving up on an unreachable server.
pub const POST_ATTEMPTS: u32 = 5;

/// Posts `text` to `room` as `cfg.name` (or the token's user); returns the stored message.
pub async fn post_http(
    cfg: &ClientConfig,
    room: &str,
    text: &str,
) -> Result<ChatMessage, ClientError> {
    let url = format!("{}/api/rooms/{room}/messages", cfg.http_url()?);
    let body = PostMessage {
        user: cfg.name.clone(),
        text: text.to_owned(),
        client_id: Some(new_client_id()),
        reply_to: None,
        files: Vec::new(),
    };
    let mut client = reqwest::Client::builder();
    if cfg.is_tls()? {
        let tls = crate::tls::client_config(cfg.ca_file.as_deref())?;
        client = client.use_preconfigured_tls(rustls::ClientConfig::clone(&tls));
    }
    let client = client
        .build()
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let backoff: Backoff = cfg.backoff;
    let mut last = String::new();
    for attempt in 0..POST_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff.delay(attempt - 1)).await;
        }
        let mut req = client.post(&url).json(&body);
        if let Some(token) = &cfg.token {
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
                .json::<ChatMessage>()
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
