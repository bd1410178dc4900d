//! One connection's life inside [`run`]: open the socket, pump frames both ways and the
//! commands of the [`Chat`] handle, then decide from how it ended whether and when to reconnect
//! (the client core's backoff).

use banter_protocol::{ServerMsg, close};
use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{Either, select};
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use leptos::prelude::*;

use banter_client_core::{Backoff, Reconnect};

use super::{Chat, Cmd, ConnState, now_ms, sleep};
use crate::state::Session;
use crate::{notify, prefs};

/// How one connection ended.
enum Ended {
    /// The user asked to go offline.
    ByUser,
    /// The user asked for a fresh connection now.
    Restart,
    /// The server refused us by policy: do not retry blindly.
    Refused,
    /// The server refused the token (close 4001): a new one is needed first.
    Unauthorized,
    /// Lost (network, server restart, too slow…): retry with backoff. `was_online` resets it.
    Lost { was_online: bool },
}

pub(super) async fn run(chat: Chat, mut cmds: UnboundedReceiver<Cmd>) {
    // The core's backoff (its docs say why these delays), seeded apart from every other page.
    let seed =
        (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64 ^ js_sys::Date::now() as u64;
    let mut reconnect = Reconnect::new(Backoff::default(), seed);
    let mut want_online = true;
    loop {
        if !want_online {
            chat.conn.set(ConnState::Offline);
            loop {
                match cmds.next().await {
                    Some(Cmd::Connect | Cmd::Reconnect) => break,
                    Some(_) => {}
                    None => return,
                }
            }
            want_online = true;
            reconnect.connected();
        }
        chat.conn.set(ConnState::Connecting);
        let ended = connection(chat, &mut cmds).await;
        chat.session.update(Session::disconnected);
        match ended {
            Ended::ByUser => {
                want_online = false;
                continue;
            }
            Ended::Unauthorized => {
                prefs::save_token(None);
                chat.session.update(|s| s.token = None);
                want_online = false;
                continue;
            }
            Ended::Refused => {
                chat.session.update(|s| {
                    s.notice = Some(
                        "The server refused this connection. Press Connect to try again.".into(),
                    );
                });
                want_online = false;
                continue;
            }
            Ended::Restart => {
                reconnect.connected();
                continue;
            }
            Ended::Lost { was_online } => {
                if was_online {
                    reconnect.connected();
                }
            }
        }
        let delay = f64::from(reconnect.delay_ms());
        let deadline = now_ms() + delay;
        'wait: loop {
            let left = deadline - now_ms();
            if left <= 0.0 {
                break;
            }
            chat.conn.set(ConnState::Reconnecting {
                in_secs: (left / 1000.0).ceil() as u32,
            });
            // Wake at the next whole second of the countdown (or the deadline).
            let step = match left % 1000.0 {
                r if r < 1.0 => left.min(1000.0),
                r => r,
            };
            let mut tick = Box::pin(sleep(step));
            loop {
                match select(tick, cmds.next()).await {
                    Either::Left(((), _)) => continue 'wait,
                    Either::Right((cmd, pending_tick)) => match cmd {
                        Some(Cmd::Connect | Cmd::Reconnect) => break 'wait,
                        Some(Cmd::Disconnect) => {
                            want_online = false;
                            break 'wait;
                        }
                        Some(Cmd::Frames(_)) => tick = pending_tick,
                        None => return,
                    },
                }
            }
        }
    }
}

/// How long a new connection may take to say `welcome`.
const WELCOME_TIMEOUT_MS: f64 = 10_000.0;

/// One connection, from open to close.
async fn connection(chat: Chat, cmds: &mut UnboundedReceiver<Cmd>) -> Ended {
    let Some(url) = socket_url() else {
        return Ended::Refused;
    };
    let mut ws = match WebSocket::open(&url) {
        Ok(ws) => ws,
        Err(_) => return Ended::Lost { was_online: false },
    };
    let mut online = false;
    // A connection that has not said `welcome` by then is given up (and retried): a half-open
    // network can leave the browser waiting on a handshake for minutes.
    let mut give_up = Box::pin(sleep(WELCOME_TIMEOUT_MS));
    loop {
        // These futures are cancel-safe: dropping the losers loses nothing.
        let either = select(ws.next(), cmds.next());
        let step = if online {
            Step::from(either.await)
        } else {
            match select(either, give_up.as_mut()).await {
                Either::Left((either, _)) => Step::from(either),
                Either::Right(((), _)) => {
                    let _ = ws.close(Some(close::NORMAL), Some("no welcome"));
                    return Ended::Lost { was_online: false };
                }
            }
        };
        let outgoing = match step {
            Step::Cmd(Some(Cmd::Frames(frames))) => frames,
            Step::Cmd(Some(Cmd::Connect)) => continue,
            Step::Cmd(Some(Cmd::Disconnect) | None) => {
                let _ = ws.close(Some(close::NORMAL), Some("bye"));
                return Ended::ByUser;
            }
            Step::Cmd(Some(Cmd::Reconnect)) => {
                let _ = ws.close(Some(close::NORMAL), Some("reconnecting"));
                return Ended::Restart;
            }
            Step::Socket(item) => {
                // Take every frame that is already here, then update the state once: a replay
                // of thousands of messages renders once, not thousands of times.
                let mut frames = Vec::new();
                let mut end = None;
                let mut next = Some(item);
                while let Some(item) = next.take() {
                    match item {
                        Some(Ok(Message::Text(text))) => {
                            // Unknown frame types (a newer server) are ignored, as the
                            // protocol asks.
                            if let Ok(msg) = serde_json::from_str::<ServerMsg>(&text) {
                                frames.push(msg);
                            }
                        }
                        Some(Ok(Message::Bytes(_)))
                        | Some(Err(WebSocketError::ConnectionError)) => {}
                        Some(Err(WebSocketError::ConnectionClose(ev))) => {
                            end = Some(if ev.code == close::POLICY {
                                Ended::Refused
                            } else if ev.code == close::UNAUTHORIZED {
                                Ended::Unauthorized
                            } else {
                                Ended::Lost { was_online: online }
                            });
                        }
                        Some(Err(_)) | None => {
                            end.get_or_insert(Ended::Lost { was_online: online });
                        }
                    }
                    if end.is_some() {
                        break;
                    }
                    next = ws.next().now_or_never();
                }
                let welcomed = frames
                    .iter()
                    .any(|m| matches!(m, ServerMsg::Welcome { .. }));
                let out = if frames.is_empty() {
                    Vec::new()
                } else {
                    let now = now_ms();
                    let (out, alerts, token_refused, list, added) = chat
                        .session
                        .try_update(|s| {
                            s.now = now;
                            let mut out = Vec::new();
                            for m in frames {
                                out.extend(s.handle(m));
                            }
                            let refused = s.auth_error.is_some() && s.token.is_none();
                            let list = std::mem::take(&mut s.list_due);
                            let alerts = std::mem::take(&mut s.alerts);
                            (out, alerts, refused, list, s.take_added())
                        })
                        .unwrap_or_default();
                    if token_refused {
                        prefs::save_token(None);
                    }
                    if list {
                        chat.list_conversations();
                    }
                    chat.took_added(added);
                    for alert in alerts {
                        notify::show(&alert);
                    }
                    out
                };
                if welcomed && !online {
                    online = true;
                    chat.conn.set(ConnState::Online);
                    if chat.online_after_ms.get_untracked().is_none() {
                        chat.online_after_ms.set(Some(now_ms()));
                    }
                }
                if let Some(end) = end {
                    return end;
                }
                out
            }
        };
        for frame in outgoing {
            if ws.send(Message::Text(frame.to_json())).await.is_err() {
                return Ended::Lost { was_online: online };
            }
        }
    }
}

enum Step {
    Socket(Option<Result<Message, WebSocketError>>),
    Cmd(Option<Cmd>),
}

impl<A, B> From<Either<(Option<Result<Message, WebSocketError>>, A), (Option<Cmd>, B)>> for Step {
    fn from(e: Either<(Option<Result<Message, WebSocketError>>, A), (Option<Cmd>, B)>) -> Step {
        match e {
            Either::Left((item, _)) => Step::Socket(item),
            Either::Right((cmd, _)) => Step::Cmd(cmd),
        }
    }
}

/// `ws://` or `wss://` on the page's own host, path `/ws` (trunk serve proxies it in dev).
fn socket_url() -> Option<String> {
    let location = window().location();
    let host = location.host().ok()?;
    let scheme = match location.protocol().ok()?.as_str() {
        "https:" => "wss",
        _ => "ws",
    };
    Some(format!("{scheme}://{host}/ws"))
}
