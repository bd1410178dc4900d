//! The one WebSocket: connect, reconnect with backoff and jitter, resume with `since`.
//!
//! [`provide_chat`] starts a single task that owns the gloo-net socket and puts a [`Chat`] handle
//! in context. Components read its signals (the [`Session`] and the [`ConnState`]) and call its
//! methods (`send_text`, `switch_room`, `connect`, …); every rule about what to send lives in
//! [`Session`], this module only moves frames and keeps time.

use banter_protocol::{ClientMsg, ServerMsg, close};
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::future::{Either, select};
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use banter_client_core::{Backoff, Reconnect};

use crate::state::{READ_EVERY_MS, Session};
use crate::{notify, prefs};

mod lifecycle;

/// What the user sees of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Opening the socket (first time, or right after a backoff).
    Connecting,
    /// `welcome` received: live.
    Online,
    /// Lost; the next attempt starts in `in_secs` seconds.
    Reconnecting { in_secs: u32 },
    /// Not trying: the user pressed Disconnect, or the server refused us by policy.
    Offline,
}

impl ConnState {
    /// Short text for the status badge.
    pub fn label(self) -> String {
        match self {
            ConnState::Connecting => "Connecting…".into(),
            ConnState::Online => "Online".into(),
            ConnState::Reconnecting { in_secs } => format!("Reconnecting in {in_secs}s…"),
            ConnState::Offline => "Offline".into(),
        }
    }

    /// A stable name for styling and tests (`data-state`).
    pub fn key(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Online => "online",
            ConnState::Reconnecting { .. } => "reconnecting",
            ConnState::Offline => "offline",
        }
    }
}

enum Cmd {
    Frames(Vec<ClientMsg>),
    Connect,
    Disconnect,
    /// Close and open again at once (to chat under a new name).
    Reconnect,
}

/// The app's handle on the chat: signals to read, methods to act. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Chat {
    /// Everything known about rooms, messages and pending sends.
    pub session: RwSignal<Session>,
    /// The connection as the user should see it.
    pub conn: RwSignal<ConnState>,
    /// Milliseconds from page load (navigation start) to the first `online`.
    pub online_after_ms: RwSignal<Option<f64>>,
    cmds: StoredValue<UnboundedSender<Cmd>>,
}

/// Creates the chat, starts its socket task and provides it as context.
pub fn provide_chat() -> Chat {
    let prefix = format!(
        "{:x}{:06x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * f64::from(0xff_ffff)) as u32
    );
    let mut session = Session::new(prefix);
    session.restore_rooms(&prefs::load_rooms());
    session.token = prefs::load_token();
    session.hidden = document().hidden();
    if let Some(name) = prefs::load_name() {
        // A stored name that no longer passes the rules is simply asked for again.
        let _ = session.set_name(&name);
    }
    let (tx, rx) = unbounded();
    let chat = Chat {
        session: RwSignal::new(session),
        conn: RwSignal::new(ConnState::Connecting),
        online_after_ms: RwSignal::new(None),
        cmds: StoredValue::new(tx),
    };
    provide_context(chat);
    leptos::task::spawn_local(run(chat, rx));
    leptos::task::spawn_local(send_reads(chat));
    chat
}

/// Sends the read positions the page gathered, at most every [`READ_EVERY_MS`].
async fn send_reads(chat: Chat) {
    loop {
        sleep(READ_EVERY_MS).await;
        chat.flush_reads();
    }
}

/// The chat provided by [`provide_chat`].
pub fn use_chat() -> Chat {
    expect_context::<Chat>()
}

impl Chat {
    fn cmd(&self, cmd: Cmd) {
        self.cmds.with_value(|tx| {
            // The task only ends with the page; a closed channel means nothing is listening.
            let _ = tx.unbounded_send(cmd);
        });
    }

    fn push(&self, frames: Vec<ClientMsg>) {
        if !frames.is_empty() {
            self.cmd(Cmd::Frames(frames));
        }
    }

    fn with_session<T>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, String>,
    ) -> Result<T, String> {
        self.session
            .try_update(f)
            .unwrap_or_else(|| Err("the app is shutting down".into()))
    }

    /// Sends `text` to the room on screen, or says why not. It shows as pending until acked.
    pub fn send_text(&self, text: &str) -> Result<(), String> {
        let now = now_ms();
        let frames = self.with_session(|s| {
            s.now = now;
            s.compose(text)
        })?;
        self.push(frames);
        Ok(())
    }

    /// Takes `name` as the user's name (remembered in localStorage), or says why not.
    pub fn set_name(&self, name: &str) -> Result<(), String> {
        let (frames, reconnect, name) = self.with_session(|s| {
            let frames = s.set_name(name)?;
            Ok((
                frames,
                s.needs_reconnect_for_name(),
                s.name.clone().unwrap_or_default(),
            ))
        })?;
        prefs::save_name(&name);
        self.push(frames);
        if reconnect {
            self.cmd(Cmd::Reconnect);
        }
        Ok(())
    }

    /// Forgets the name so the prompt asks again.
    pub fn forget_name(&self) {
        self.session.update(|s| s.name = None);
    }

    /// Shows a room (joining it when it is not one of the user's yet), or says why the name is
    /// not a room.
    pub fn switch_room(&self, room: &str) -> Result<(), String> {
        let (frames, rooms) = self.with_session(|s| {
            let frames = s.switch_room(room)?;
            Ok((frames, s.my_rooms.clone()))
        })?;
        prefs::save_rooms(&rooms);
        self.push(frames);
        Ok(())
    }

    /// Leaves a room for good. Returns the room shown instead when it was on screen.
    pub fn leave_room(&self, room: &str) -> Option<String> {
        let (frames, next, rooms) = self
            .session
            .try_update(|s| {
                let (frames, next) = s.leave_room(room);
                (frames, next, s.my_rooms.clone())
            })
            .unwrap_or_default();
        prefs::save_rooms(&rooms);
        self.push(frames);
        next
    }

    /// Joins again the room just left (its "Undo") and shows it.
    pub fn undo_leave(&self) {
        let Some(room) = self.session.try_update(|s| s.left.take()).flatten() else {
            return;
        };
        if self.switch_room(&room).is_ok() {
            let _ = window()
                .location()
                .set_hash(&crate::state::hash_for_room(&room));
        }
    }

    /// Shows the conversation with `peer` (joining it when this connection has not yet).
    pub fn open_dm(&self, peer: &str) -> Result<(), String> {
        let frames = self.with_session(|s| s.open_dm(peer))?;
        self.push(frames);
        Ok(())
    }

    /// Lists the user's conversations (`GET /api/conversations`) and joins the ones not joined
    /// yet: those that began while the page was away.
    fn list_conversations(&self) {
        let chat = *self;
        let who = self.session.with_untracked(|s| s.who());
        leptos::task::spawn_local(async move {
            let Ok(listed) = crate::api::conversations(&who).await else {
                return;
            };
            let frames = chat
                .session
                .try_update(|s| s.add_conversations(&listed))
                .unwrap_or_default();
            chat.push(frames);
        });
    }

    /// Tells the room on screen that the user is typing (at most every few seconds).
    /// Returns how long to wait when held back right after a send (then call again if the user
    /// is still writing).
    pub fn typing(&self) -> Option<f64> {
        let now = now_ms();
        let (frames, quiet) = self
            .session
            .try_update_untracked(|s| (s.typing_frame(now), s.typing_quiet_for(now)))
            .unwrap_or_default();
        self.push(frames);
        quiet
    }

    /// Sends every refused message on screen again.
    pub fn retry_all(&self) {
        let frames = self
            .session
            .try_update(Session::retry_all)
            .unwrap_or_default();
        self.push(frames);
    }

    /// Clears the missing-history notice of the room on screen.
    pub fn dismiss_gap(&self) {
        self.session.update(Session::dismiss_gap);
    }

    /// Takes a sign-in token (from a sign-in link) and connects with it.
    pub fn sign_in(&self, token: String) {
        prefs::save_token(Some(&token));
        self.session.update(|s| s.set_token(token));
        self.cmd(Cmd::Reconnect);
    }

    /// A renewed token for the same user: kept, and presented on the open socket (an `auth`
    /// frame extends the connection; no reconnect).
    pub fn renew_token(&self, token: String) {
        prefs::save_token(Some(&token));
        self.session.update(|s| s.token = Some(token.clone()));
        self.push(vec![ClientMsg::Auth { token }]);
    }

    /// Forgets the token (and, on a server with accounts, this device's remembered session,
    /// first: the sign-in page would otherwise renew it); the page explains how to sign in again.
    pub fn sign_out(&self) {
        let chat = *self;
        leptos::task::spawn_local(async move {
            let _ = crate::accounts::sign_out(None, false).await;
            prefs::save_token(None);
            chat.session.update(Session::sign_out);
            chat.cmd(Cmd::Reconnect);
        });
    }

    /// The page was hidden or shown again (hidden: what was read is sent at once).
    pub fn set_hidden(&self, hidden: bool) {
        self.session.update(|s| s.set_hidden(hidden));
        if hidden {
            self.flush_reads();
        }
    }

    /// Every room and conversation counts as read.
    pub fn mark_all_read(&self) {
        self.session.update(Session::mark_all_read);
        self.flush_reads();
    }

    /// Sends the read positions gathered since the last time, if any.
    fn flush_reads(&self) {
        if !self
            .session
            .try_with_untracked(Session::reads_due)
            .unwrap_or(false)
        {
            return;
        }
        let frames = self
            .session
            .try_update_untracked(Session::take_reads)
            .unwrap_or_default();
        self.push(frames);
    }

    /// Sends a refused message again, same `client_id`.
    pub fn retry(&self, client_id: &str) {
        let frames = self
            .session
            .try_update(|s| s.retry(client_id))
            .unwrap_or_default();
        self.push(frames);
    }

    /// Drops a refused message (the next one of its room may then go).
    pub fn discard(&self, client_id: &str) {
        let frames = self
            .session
            .try_update(|s| s.discard(client_id))
            .unwrap_or_default();
        self.push(frames);
    }

    /// Clears the current notice.
    pub fn dismiss_notice(&self) {
        self.session.update(|s| s.notice = None);
    }

    /// Connects now (from offline, or skipping the rest of a backoff).
    pub fn connect(&self) {
        self.cmd(Cmd::Connect);
    }

    /// Closes the connection and stays offline until [`Chat::connect`].
    pub fn disconnect(&self) {
        self.cmd(Cmd::Disconnect);
    }
}

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

async fn run(chat: Chat, mut cmds: UnboundedReceiver<Cmd>) {
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
                    let (out, alerts, token_refused, list) = chat
                        .session
                        .try_update(|s| {
                            s.now = now;
                            let mut out = Vec::new();
                            for m in frames {
                                out.extend(s.handle(m));
                            }
                            let refused = s.auth_error.is_some() && s.token.is_none();
                            let list = std::mem::take(&mut s.list_due);
                            (out, std::mem::take(&mut s.alerts), refused, list)
                        })
                        .unwrap_or_default();
                    if token_refused {
                        prefs::save_token(None);
                    }
                    if list {
                        chat.list_conversations();
                    }
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

/// Milliseconds since the page started loading.
pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.ceil() as i32);
    });
    let _: Result<JsValue, JsValue> = wasm_bindgen_futures::JsFuture::from(promise).await;
}
