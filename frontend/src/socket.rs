//! The one WebSocket: connect, reconnect with backoff and jitter, resume with `since`.
//!
//! [`provide_chat`] starts a single task that owns the gloo-net socket and puts a [`Chat`] handle
//! in context. Components read its signals (the [`Session`] and the [`ConnState`]) and call its
//! methods (`send_text`, `switch_room`, `connect`, …); every rule about what to send lives in
//! [`Session`], this module only moves frames and keeps time.

use banter_protocol::ClientMsg;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::prefs;
use crate::state::{READ_EVERY_MS, Session};

mod connection;
mod lifecycle;
mod room_list;

use connection::run;

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

    /// Sends `text` (may be empty) with `files` (ids uploaded to the room on screen) attached;
    /// without files, [`Self::send_text`]. It shows as pending until acked.
    pub fn send_files(&self, text: &str, files: Vec<String>) -> Result<(), String> {
        let now = now_ms();
        let frames = self.with_session(|s| {
            s.now = now;
            s.compose_files(text, files)
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
        // A new name dropped the old one's conversations: leave a conversation's address.
        let room = self
            .session
            .with_untracked(|s| s.dm.is_none().then(|| s.room.clone()));
        if let Some(room) = room
            && window()
                .location()
                .hash()
                .is_ok_and(|h| h.starts_with("#/dm/"))
        {
            let _ = window()
                .location()
                .set_hash(&crate::state::hash_for_room(&room));
        }
        if reconnect {
            self.cmd(Cmd::Reconnect);
        }
        Ok(())
    }

    /// "Change name": the prompt asks again, with a way back (the name is kept until then).
    pub fn forget_name(&self) {
        self.session.update(Session::start_renaming);
    }

    /// The name prompt's Cancel.
    pub fn cancel_renaming(&self) {
        self.session.update(Session::cancel_renaming);
    }

    /// Shows a room (joining it when it is not one of the user's yet), or says why the name is
    /// not a room.
    pub fn switch_room(&self, room: &str) -> Result<(), String> {
        let (frames, rooms, new) = self.with_session(|s| {
            let before = s.my_rooms.len();
            let frames = s.switch_room(room)?;
            Ok((frames, s.my_rooms.clone(), s.my_rooms.len() > before))
        })?;
        prefs::save_rooms(&rooms);
        self.push(frames);
        if new && let Some(room) = rooms.last() {
            self.store_room(room, true);
        }
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
        self.store_room(room, false);
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
        // The conversation's own address: a reload comes back to it.
        let hash = crate::state::hash_for_dm(peer.trim());
        if window().location().hash().ok().as_deref() != Some(hash.as_str()) {
            let _ = window().location().set_hash(&hash);
        }
        Ok(())
    }

    /// Keeps the group conversation `room` (with `members`) like a room, joining it now.
    pub fn add_group(&self, room: &str, members: &[String]) {
        let (frames, rooms) = self
            .session
            .try_update(|s| (s.add_group(room, members), s.my_rooms.clone()))
            .unwrap_or_default();
        prefs::save_rooms(&rooms);
        self.push(frames);
    }

    /// Remembers the rooms and groups `added` frames brought (this browser, the stored list);
    /// a group's members are then listed (`GET /api/conversations`).
    fn took_added(&self, added: Vec<String>) {
        if added.is_empty() {
            return;
        }
        let rooms = self.session.with_untracked(|s| s.my_rooms.clone());
        prefs::save_rooms(&rooms);
        for room in &added {
            self.store_room(room, true);
        }
        if added.iter().any(|r| crate::state::is_group(r)) {
            self.fetch_conversations();
        }
    }

    /// Lists the user's conversations (`GET /api/conversations`) and joins the ones not joined
    /// yet: those that began while the page was away.
    fn list_conversations(&self) {
        self.sync_room_list();
        self.fetch_conversations();
    }

    /// Reads `GET /api/conversations` into the session (new ones joined, groups' members).
    fn fetch_conversations(&self) {
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
