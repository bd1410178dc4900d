//! The client's domain state in plain Rust: no DOM, no signals, no I/O.
//!
//! [`Session`] is a small sans-IO state machine. The socket module feeds it what happens
//! ([`Session::handle`] for each server frame, [`Session::disconnected`] when the link drops) and
//! writes out the [`ClientMsg`] frames it returns; the views only read it. The rules every client
//! shares (resume points and epochs, dedupe by `seq`, the messages held, pending sends in the
//! order written) are the client core's ([`Core`], `crates/client-core`); this module adds what
//! is the page's own: who the user is, the rooms on their list and the one on screen, unread
//! and mention counts, typing, people, conversations, sign-in.
//!
//! The user's rooms and private conversations are all joined at once on the one connection; one
//! of them is on screen. The others count what the user has not read. A conversation is a room
//! whose id (`dm-…`) the server gives: it is joined `with` the other user and then kept like
//! any room (resume point, epoch, unread, typing).
//!
//! Invariants (the core's, kept by it): a room's messages are keyed by `seq`, a replayed or
//! repeated `message` is stored once; a room's resume point is the highest `seq` seen there, sent
//! with its `epoch`, and a `joined` naming another epoch (or a head behind ours) drops what we
//! held for that room; a send keeps its `client_id` for life and sends go in the order written.

use std::collections::BTreeMap;

use banter_client_core::Core;
use banter_protocol::http::{ConversationSummary, MessagePage};
use banter_protocol::{AuthMode, ClientMsg, DEFAULT_ROOM, Limits};

mod added;
mod address;
mod direct;
mod groups;
mod identity;
mod inbound;
mod lifecycle;
mod moderation;
mod presence_lines;
mod ranges;
mod reads;
mod room;
mod room_list;
mod sending;
mod typing;
mod uploads;

pub use address::{
    dm_from_hash, hash_for_dm, hash_for_room, room_from_hash, room_name_hint, tidy_room_name,
    token_from_fragment,
};
pub use banter_client_core::{
    Gap, KEEP_PER_ROOM, MessageStore, PendingOp, PendingSend, PendingSends, PendingState,
};
pub use direct::{Conversation, Conversations};
pub use groups::{GROUP_PREFIX, is_group};
pub use moderation::{moderation_text, quiet_lines};
pub use presence_lines::{PresenceSummary, summarize};
pub use ranges::{Ranges, Shown};
pub use reads::READ_EVERY_MS;
pub use room::{PresenceLine, RoomState, TYPING_SHOWS_MS};
pub use room_list::ListTaken;
pub use typing::{TYPING_EVERY_MS, TYPING_QUIET_AFTER_SEND_MS};
pub use uploads::{
    Attachment, Attachments, UploadState, human_size, is_inline_image, preview_box, upload_error,
};

/// What the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Ask for a name (open servers).
    Name,
    /// The server needs a token and none is held: explain how to get a sign-in link.
    SignIn,
    /// The chat.
    Chat,
    /// The server has not said yet whether it wants names or sign-ins (and nothing held says).
    Connecting,
}

/// Something to tell the user through a browser notification (the page was hidden).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// The whole client: who we are, where we are, what we have seen and what we still owe.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user's name, once chosen (or given by the token).
    pub name: Option<String>,
    /// The room on screen (when no conversation is).
    pub room: String,
    /// The person whose conversation is on screen, if one is.
    pub dm: Option<String>,
    /// The user's rooms, in the order they joined them; all joined at once.
    pub my_rooms: Vec<String>,
    /// What the page shows of rooms and conversations (by id), as far as known.
    rooms: BTreeMap<String, RoomState>,
    /// The rules: rooms' messages, resume points and epochs, pending sends.
    core: Core,
    /// Conversations with one person each.
    pub conversations: Conversations,
    /// The server's limits (defaults until `welcome`).
    pub limits: Limits,
    /// `welcome` received on the current connection.
    pub welcomed: bool,
    /// Whether the server needs a token (from `welcome`).
    pub auth: AuthMode,
    /// A `welcome` came on some connection of this page (so `auth` is the server's).
    pub server_seen: bool,
    /// "Change name" is open: the prompt shows over the chat, with a way back.
    pub renaming: bool,
    /// The sign-in token held, if any.
    pub token: Option<String>,
    /// Who the token signed in as (from `authenticated`).
    pub signed_in: Option<String>,
    /// The signed-in user is a server admin (`GET /api/account`, read by the account menu).
    pub admin: bool,
    /// Why the last token was refused, for the sign-in page.
    pub auth_error: Option<String>,
    /// The name the current connection joined under (one connection is one user).
    joined_as: Option<String>,
    /// The user's conversations should be listed (`GET /api/conversations`): set once per
    /// connection when it joins, taken by the caller.
    pub list_due: bool,
    /// A refusal not tied to a send (bad name, bad room…), for a notice.
    pub notice: Option<String>,
    /// The server refused the name itself: ask for another one.
    pub name_refused: Option<String>,
    /// The server refused this connection's `join`: the next name needs a fresh connection.
    refused_on_this_connection: bool,
    /// Rooms whose `join` `switch_room` wrote on this connection, not answered yet.
    asking: Vec<String>,
    /// The page is hidden (another tab, minimised): everything counts as unread.
    pub hidden: bool,
    /// The time (ms, any clock) of the frames being handled; set by the caller.
    pub now: f64,
    last_typing: Option<(String, f64)>,
    /// No `typing` frame before this time (ms): the user just sent (see [`typing`]).
    typing_quiet_until: f64,
    /// Notifications to show, taken by the caller.
    pub alerts: Vec<Alert>,
    /// Read positions to send, the highest per room (see `reads`).
    reads_due: BTreeMap<String, u64>,
    /// A message to show (a search result's room and `seq`), taken by the message list.
    pub jump: Option<(String, u64)>,
    /// Where "new messages" starts: a room and the user's position when they opened it.
    pub unread_line: Option<(String, u64)>,
    /// The room the user just left, while its "Undo" is offered.
    pub left: Option<String>,
    /// Rooms the user joined on this page since it loaded (see `room_list`).
    joined_here: Vec<String>,
    /// Rooms taken from what this browser remembered (see `room_list`).
    restored: Vec<String>,
    /// The room (or conversation) the user was just removed from, for its notice.
    pub removed: Option<String>,
    /// Rooms and groups `added` frames brought, taken by the caller (see `added`).
    added: Vec<String>,
    client_prefix: String,
    next_client_id: u64,
}

impl Session {
    /// A fresh session. `client_prefix` makes this page's `client_id`s unique (random per load).
    pub fn new(client_prefix: impl Into<String>) -> Self {
        Session {
            name: None,
            room: DEFAULT_ROOM.to_string(),
            dm: None,
            my_rooms: vec![DEFAULT_ROOM.to_string()],
            rooms: BTreeMap::new(),
            core: Core::new(KEEP_PER_ROOM),
            conversations: Conversations::default(),
            limits: Limits::default(),
            welcomed: false,
            auth: AuthMode::Open,
            server_seen: false,
            renaming: false,
            token: None,
            signed_in: None,
            admin: false,
            auth_error: None,
            joined_as: None,
            list_due: false,
            notice: None,
            name_refused: None,
            refused_on_this_connection: false,
            asking: Vec::new(),
            hidden: false,
            now: 0.0,
            last_typing: None,
            typing_quiet_until: f64::NEG_INFINITY,
            alerts: Vec::new(),
            reads_due: BTreeMap::new(),
            jump: None,
            unread_line: None,
            left: None,
            joined_here: Vec::new(),
            restored: Vec::new(),
            removed: None,
            added: Vec::new(),
            client_prefix: client_prefix.into(),
            next_client_id: 0,
        }
    }

    /// Who the HTTP calls ask as: the token held, else the name.
    pub fn who(&self) -> crate::api::Who {
        crate::api::Who {
            token: self.token.clone(),
            name: self.name.clone(),
        }
    }

    /// Takes the user's rooms remembered from an earlier visit (invalid names are skipped).
    pub fn restore_rooms(&mut self, rooms: &[String]) {
        for room in rooms {
            if let Ok(room) = self.limits.room(room)
                && !self.my_rooms.iter().any(|r| r == room)
            {
                self.my_rooms.push(room.to_string());
                self.restored.push(room.to_string());
            }
        }
    }

    /// What the page should show.
    pub fn screen(&self) -> Screen {
        // `auth` is the server's once any `welcome` came (kept while reconnecting).
        let token_mode = self.server_seen && self.auth == AuthMode::Token;
        // A token held before `welcome` says which kind of server this is: no name prompt.
        let by_token = self.token.is_some() && (token_mode || !self.welcomed);
        let by_name = self.name.is_some() && self.name_refused.is_none() && !self.renaming;
        if token_mode && self.token.is_none() {
            Screen::SignIn
        } else if by_token || by_name {
            Screen::Chat
        } else if !self.server_seen {
            // Neither a name prompt nor a sign-in page before the server says which it wants.
            Screen::Connecting
        } else {
            Screen::Name
        }
    }

    /// The state of `room`, if anything is known about it.
    pub fn room_state(&self, room: &str) -> Option<&RoomState> {
        self.rooms.get(room)
    }

    /// The state of the room (or conversation) on screen.
    pub fn current(&self) -> Option<&RoomState> {
        self.rooms.get(self.screen_room()?)
    }

    /// The id of what is on screen: the room, or the conversation's once the server named it.
    pub fn screen_room(&self) -> Option<&str> {
        match &self.dm {
            Some(peer) => self.conversations.get(peer)?.room.as_deref(),
            None => Some(&self.room),
        }
    }

    fn room_mut(&mut self, room: &str) -> &mut RoomState {
        self.rooms.entry(room.to_string()).or_default()
    }

    /// The messages held of `room`, if any.
    pub fn store(&self, room: &str) -> Option<&MessageStore> {
        self.core.room(room).map(|r| &r.store)
    }

    /// Whether `room`'s `joined` came on this connection (its epoch is known).
    pub fn is_joined(&self, room: &str) -> bool {
        self.core.is_joined(room)
    }

    /// The messages held of the room (or conversation) on screen.
    pub fn current_store(&self) -> Option<&MessageStore> {
        self.store(self.screen_room()?)
    }

    /// The newest `seq` held of `room` (0 when none).
    fn newest(&self, room: &str) -> u64 {
        self.store(room).map_or(0, MessageStore::high_seq)
    }

    /// The sends not acked yet, in the order written.
    pub fn pending(&self) -> &PendingSends {
        self.core.pending()
    }

    /// The resume point of `room`: the highest `seq` seen there (0 when none).
    pub fn resume_point(&self, room: &str) -> u64 {
        self.core.resume(room).0.unwrap_or(0)
    }

    /// Whether older messages than those held on screen may be fetched (`before=`, v1.1
    /// servers: those that name an epoch).
    pub fn current_more_on_server(&self) -> bool {
        let Some(room) = self.screen_room() else {
            return false;
        };
        let reached = self.rooms.get(room).is_some_and(|r| r.reached_start);
        self.core.room(room).is_some_and(|r| {
            !r.epoch.is_empty() && !reached && r.store.first_seq().is_some_and(|s| s > 1)
        })
    }

    /// What is on screen in `room` counts as read.
    fn mark_read(&mut self, room: &str) {
        let newest = self.newest(room);
        self.note_unread_line(room);
        self.seen(room, newest);
    }

    /// Whether the user is looking at `room` right now.
    fn viewing_room(&self, room: &str) -> bool {
        !self.hidden && self.screen_room() == Some(room)
    }

    /// Everything not read yet: rooms and conversations together (for the page title).
    pub fn unread_total(&self) -> u32 {
        self.rooms.values().map(|r| r.unread).sum::<u32>()
    }

    /// The `join` for `room`, resuming after what was already seen, in the epoch it belongs to.
    fn join_frame(&self, room: &str) -> ClientMsg {
        let name = self.name.clone().unwrap_or_default();
        self.core.join_frame(room, &name)
    }

    /// The `join` of the conversation with `peer` (by `with`: before its first message a
    /// conversation has no stored id to join by), resuming like a room once its id is known.
    fn conversation_join(&self, peer: &str) -> ClientMsg {
        let id = self.conversations.get(peer).and_then(|c| c.room.as_deref());
        let (since, epoch) = id.map_or((Some(0), None), |id| self.core.resume(id));
        ClientMsg::Join {
            room: String::new(),
            name: self.name.clone().unwrap_or_default(),
            since,
            epoch,
            with: Some(peer.to_string()),
        }
    }

    /// The `join` of the conversation with `peer` when this connection has not asked for it
    /// yet (and may join now).
    fn join_conversation(&mut self, peer: &str) -> Vec<ClientMsg> {
        if self.joined_as.is_none() || !self.welcomed {
            return Vec::new();
        }
        let frame = self.conversation_join(peer);
        let conv = self.conversations.open(peer);
        if conv.asked {
            return Vec::new();
        }
        conv.asked = true;
        vec![frame]
    }

    /// Whether this connection may join rooms now.
    fn can_join(&self) -> bool {
        self.welcomed
            && self.name.is_some()
            && (self.auth == AuthMode::Open || self.signed_in.is_some())
    }

    /// Joins every room of the user (once per connection).
    fn join_all(&mut self) -> Vec<ClientMsg> {
        if !self.can_join() {
            return Vec::new();
        }
        self.joined_as = self.name.clone();
        self.list_due = true;
        let mut out: Vec<ClientMsg> = self.my_rooms.iter().map(|r| self.join_frame(r)).collect();
        let peers: Vec<String> = self
            .conversations
            .all()
            .iter()
            .map(|c| c.peer.clone())
            .collect();
        for peer in peers {
            out.extend(self.join_conversation(&peer));
        }
        out
    }

    /// Adds the conversations `GET /api/conversations` listed; returns the joins of those not
    /// joined yet.
    pub fn add_conversations(&mut self, listed: &[ConversationSummary]) -> Vec<ClientMsg> {
        // v1.2 group conversations are kept like rooms (`state/groups.rs`).
        let (groups, pairs): (Vec<_>, Vec<_>) =
            listed.iter().cloned().partition(|c| is_group(&c.room));
        self.conversations.merge(&pairs);
        let mut out = self.add_groups(&groups);
        out.extend(pairs.iter().flat_map(|c| self.join_conversation(&c.with)));
        out
    }

    /// Whether the user's name differs from the one the current connection chats under, so a
    /// reconnect is needed to take it (the server fixes a connection's name at its first join).
    pub fn needs_reconnect_for_name(&self) -> bool {
        self.refused_on_this_connection
            || matches!((&self.joined_as, &self.name), (Some(a), Some(b)) if a != b)
    }

    /// Sets the user's name (trimmed) after checking it; returns the frames to write.
    pub fn set_name(&mut self, name: &str) -> Result<Vec<ClientMsg>, String> {
        let name = self.limits.name(name).map_err(|e| e.message)?.to_string();
        self.renamed(&name);
        self.name = Some(name);
        self.name_refused = None;
        if self.joined_as.is_some() {
            // Either already joined under this name, or a reconnect will take the new one.
            return Ok(Vec::new());
        }
        Ok(self.join_all())
    }

    /// Shows `room`, joining it first when it is not one of the user's rooms yet (the others
    /// stay joined), or asking again for one this connection has not joined (its join was
    /// refused: a private room may have been made public since).
    pub fn switch_room(&mut self, room: &str) -> Result<Vec<ClientMsg>, String> {
        let room = self.limits.room(room).map_err(|e| e.message)?.to_string();
        self.dm = None;
        let mut out = Vec::new();
        let new = !self.my_rooms.contains(&room);
        if new {
            self.my_rooms.push(room.clone());
            self.joined_here(&room);
        }
        // Not joined and not being asked: its join was refused (or never written).
        let asks = new || !(self.core.is_joined(&room) || self.asking.contains(&room));
        if asks && self.joined_as.is_some() && self.welcomed {
            out.push(self.join_frame(&room));
            self.asking.push(room.clone());
        }
        if self.left.as_ref() == Some(&room) {
            self.left = None;
        }
        self.room = room.clone();
        if !self.hidden {
            self.mark_read(&room);
        }
        Ok(out)
    }

    /// Leaves `room` for good (it leaves the user's list). Returns the frames to write and the
    /// room to show instead when it was on screen.
    pub fn leave_room(&mut self, room: &str) -> (Vec<ClientMsg>, Option<String>) {
        let Some(at) = self.my_rooms.iter().position(|r| r == room) else {
            return (Vec::new(), None);
        };
        self.my_rooms.remove(at);
        self.left = Some(room.to_string());
        let mut out = Vec::new();
        self.rooms.remove(room);
        if self.core.leave(room) {
            out.push(ClientMsg::Leave {
                room: room.to_string(),
            });
        }
        let next = (self.room == room).then(|| {
            self.my_rooms
                .first()
                .cloned()
                .unwrap_or_else(|| DEFAULT_ROOM.to_string())
        });
        if let Some(next) = &next
            && let Ok(frames) = self.switch_room(next)
        {
            out.extend(frames);
        }
        (out, next)
    }

    /// Shows the conversation with `peer` (starting it when new); returns the frames to write
    /// (its `join`, when this connection has not joined it yet).
    pub fn open_dm(&mut self, peer: &str) -> Result<Vec<ClientMsg>, String> {
        let peer = self.limits.name(peer).map_err(|e| e.message)?.to_string();
        if self.name.as_deref() == Some(peer.as_str()) {
            return Err("that is you: pick someone else to write to".into());
        }
        self.conversations.open(&peer);
        self.dm = Some(peer.clone());
        self.mark_screen_read();
        Ok(self.join_conversation(&peer))
    }

    /// What is on screen counts as read (unless the page is hidden).
    fn mark_screen_read(&mut self) {
        if self.hidden {
            return;
        }
        if let Some(room) = self.screen_room().map(str::to_string) {
            self.mark_read(&room);
        }
    }

    /// The key of what is on screen: the room, or the conversation's id (`@peer` until the
    /// server named it). Pending sends are filed under it.
    pub fn view_key(&self) -> String {
        match &self.dm {
            Some(peer) => self
                .conversations
                .get(peer)
                .map_or_else(|| format!("@{peer}"), |c| c.key()),
            None => self.room.clone(),
        }
    }

    /// The page was hidden or shown again (shown: what is on screen is read).
    pub fn set_hidden(&mut self, hidden: bool) {
        self.hidden = hidden;
        self.mark_screen_read();
    }

    /// Adds a scrollback page (`before=`) to `room` when it belongs to the epoch held. Returns
    /// how many messages were new (0: nothing more to show from there).
    pub fn add_earlier(&mut self, room: &str, page: MessagePage) -> usize {
        let complete = page.complete;
        if page.room != room || !self.rooms.contains_key(room) {
            return 0;
        }
        let Some(added) = self.core.earlier(page) else {
            return 0;
        };
        if complete || added == 0 {
            self.room_mut(room).reached_start = true;
        }
        added
    }

    /// Clears the "history was reset / is incomplete" notice of the room on screen.
    pub fn dismiss_gap(&mut self) {
        if let Some(room) = self.screen_room().map(str::to_string)
            && let Some(r) = self.rooms.get_mut(&room)
        {
            r.gap = None;
        }
    }

    /// Takes a sign-in token (from a sign-in link); a reconnect presents it.
    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
        self.auth_error = None;
    }

    /// Forgets the token and who it signed in.
    pub fn sign_out(&mut self) {
        self.token = None;
        self.signed_in = None;
        self.admin = false;
        self.name = None;
        self.auth_error = None;
    }

    /// The sentence for a refusal by the rate limit, with the rate in force.
    pub fn rate_sentence(&self) -> String {
        let l = &self.limits;
        let per = |n: u32| if n == 1 { "message" } else { "messages" };
        format!(
            "Too fast: this server takes {} {} per second (bursts of {}). Wait a moment, then retry.",
            l.rate_per_sec,
            per(l.rate_per_sec),
            l.rate_burst
        )
    }

    /// The connection dropped: nothing is joined any more, in-flight sends go back in the queue.
    pub fn disconnected(&mut self) {
        self.welcomed = false;
        self.refused_on_this_connection = false;
        self.asking.clear();
        self.joined_as = None;
        self.list_due = false;
        self.conversations.disconnected();
        self.signed_in = None;
        self.last_typing = None;
        for room in self.rooms.values_mut() {
            room.users.clear();
            room.typing.clear();
        }
        self.core.disconnected();
    }
}

/// How many characters a message counts for the limit (after trimming, like the server).
pub fn text_len(text: &str) -> usize {
    text.trim().chars().count()
}

/// Whether the character counter should show: from 80 % of the limit.
pub fn counter_visible(len: usize, limits: &Limits) -> bool {
    len * 5 >= limits.max_text_chars * 4
}

#[cfg(test)]
mod tests;
