//! What the server says, applied to the [`Session`]: one method per server frame type, each
//! returning the frames to write in answer (a `joined` or an `ack` may bring the next pending
//! send, a `direct` of a new conversation its join). The client core rules on messages, resume
//! points, epochs and sends; this adds what the page shows (people, unread, typing, notices).

use banter_protocol::{
    AuthMode, ChatMessage, ClientMsg, DirectMessage, ErrorCode, PresenceState, ServerMsg,
};

use super::{Alert, Gap, Session};
use crate::markup::mentions_me;

impl Session {
    /// Applies one server frame; returns the frames to write in answer.
    pub fn handle(&mut self, msg: ServerMsg) -> Vec<ClientMsg> {
        match msg {
            ServerMsg::Welcome { limits, auth, .. } => {
                self.limits = limits;
                self.welcomed = true;
                self.server_seen = true;
                self.auth = auth;
                match (auth, &self.token) {
                    (AuthMode::Token, Some(token)) => vec![ClientMsg::Auth {
                        token: token.clone(),
                    }],
                    (AuthMode::Token, None) => Vec::new(),
                    (AuthMode::Open, _) => self.join_all(),
                }
            }
            ServerMsg::Authenticated { user, .. } => {
                self.name = Some(user.clone());
                self.signed_in = Some(user);
                self.auth_error = None;
                self.join_all()
            }
            ServerMsg::Joined {
                room,
                users,
                head,
                epoch,
                with,
                read,
                role,
                private,
                ..
            } => {
                self.asking.retain(|r| *r != room);
                if let Some(peer) = &with {
                    // A conversation: now its id is known; sends written before move under it.
                    self.conversations.learn(peer, &room, 0);
                    self.core.rekey(&format!("@{peer}"), &room);
                } else if !self.my_rooms.contains(&room) {
                    // A late answer for a room the user left before it came: leave it now.
                    return vec![ClientMsg::Leave { room }];
                }
                self.note_access(&room, role, private);
                self.on_joined(room, users, (head, read), epoch)
            }
            ServerMsg::Message(m) => {
                self.on_message(m);
                Vec::new()
            }
            ServerMsg::Read { room, seq } => {
                self.on_read(&room, seq);
                Vec::new()
            }
            ServerMsg::Change(c) => {
                // Folded into its target by the core (once per `seq`); the views re-read it.
                if self.core.change(&c).is_some() {
                    self.note_held(&c.room, c.seq, c.seq);
                    // A moderation entry (v1.2) also becomes a quiet line in the room.
                    if c.kind.is_moderation() {
                        self.moderation_line(&c);
                    }
                }
                Vec::new()
            }
            ServerMsg::Removed { room } => self.on_removed(&room),
            ServerMsg::Added { room, .. } => self.on_added(&room),
            ServerMsg::Replay {
                room,
                from,
                to,
                complete,
                epoch,
            } => {
                self.on_replay(&room, from, to, &epoch, complete);
                Vec::new()
            }
            ServerMsg::Ack { client_id, .. } => {
                self.core.ack(&client_id).next.into_iter().collect()
            }
            ServerMsg::Presence { room, user, state } => {
                self.on_presence(room, user, state);
                Vec::new()
            }
            ServerMsg::Direct(dm) => self.on_direct(dm),
            ServerMsg::Error {
                code,
                message,
                client_id,
            } => self.on_error(code, message, client_id),
        }
    }

    fn on_joined(
        &mut self,
        room: String,
        users: Vec<String>,
        (head, read): (u64, u64),
        epoch: String,
    ) -> Vec<ClientMsg> {
        let viewing = self.viewing_room(&room);
        let joined = self.core.joined(&room, head, &epoch);
        let state = self.room_mut(&room);
        state.users.clear();
        for user in users {
            state.add_user(user);
        }
        if joined.reset {
            // Another life of the room's history: the core dropped its messages.
            state.reset_history(head);
        }
        if !state.ever_joined {
            // History from before the user came: replies in its threads are not new.
            state.history_to = head;
        }
        self.joined_read(&room, head, read, viewing);
        self.notice = None;
        joined.send.into_iter().collect()
    }

    fn on_replay(&mut self, room: &str, from: u64, to: u64, epoch: &str, complete: bool) {
        let Some(gap) = self.core.replay_range(room, from, to, epoch, complete) else {
            return;
        };
        let Some(state) = self.rooms.get_mut(room) else {
            return;
        };
        if gap == Gap::ServerReset {
            state.reset_history(to);
        } else if state.gap != Some(Gap::ServerReset) {
            state.gap = Some(gap);
        }
    }

    /// A `direct`: a message in a conversation this connection has not joined (or the echo of
    /// one written elsewhere). The conversation comes into the list and is joined; the message
    /// itself then arrives with the replay, counted unread like any message.
    fn on_direct(&mut self, dm: DirectMessage) -> Vec<ClientMsg> {
        let mut out = Vec::new();
        if let Some(id) = &dm.client_id {
            out.extend(self.core.ack(id).next);
        }
        let me = self.name.clone().unwrap_or_default();
        let mine = dm.from == me;
        let peer = if mine { dm.to } else { dm.from };
        let (Some(room), Some(seq)) = (dm.room, dm.seq) else {
            // A v1 server: no stored conversation to join.
            return out;
        };
        self.conversations.learn(&peer, &room, dm.ts);
        let state = self.room_mut(&room);
        if !state.ever_joined {
            // What came before this message is history; this one is news (unless it is ours).
            state.ever_joined = true;
            state.read_seq = state
                .read_seq
                .max(if mine { seq } else { seq.saturating_sub(1) });
        }
        out.extend(self.join_conversation(&peer));
        out
    }

    fn on_message(&mut self, m: ChatMessage) {
        let me = self.name.clone().unwrap_or_default();
        let viewing = self.viewing_room(&m.room);
        let hidden = self.hidden;
        let room = m.room.clone();
        let (seq, user) = (m.seq, m.user.clone());
        // In a conversation every message from the other member is for the user.
        let conversation = self.conversations.by_room(&room).map(|c| c.peer.clone());
        if let Some(peer) = &conversation {
            self.conversations.learn(peer, &room, m.ts);
        }
        let mention = user != me && (conversation.is_some() || mentions_me(&m.text, &me));
        let alert = Alert {
            title: match conversation {
                Some(_) => format!("{user} wrote to you"),
                None => format!("{user} mentioned you in #{room}"),
            },
            body: m.text.clone(),
        };
        let new = self.core.message(m).is_some();
        let now = self.now;
        let state = self.room_mut(&room);
        state.held.add(seq, seq);
        state.spoke(&user, now);
        if !new {
            return;
        }
        if viewing {
            self.seen(&room, seq);
            return;
        }
        let unseen = seq > state.read_seq;
        self.count_unseen(&room, seq, user == me, mention);
        if unseen && mention && hidden {
            self.alerts.push(alert);
        }
    }

    fn on_presence(&mut self, room: String, user: String, presence: PresenceState) {
        let now = self.now;
        let newest = self.newest(&room);
        // A conversation has two members: "bob joined" there says nothing.
        let quiet = self.conversations.by_room(&room).is_some();
        let Some(state) = self.rooms.get_mut(&room) else {
            return;
        };
        match presence {
            PresenceState::Joined => {
                if state.add_user(user.clone()) && !quiet {
                    state.add_event(user, true, newest);
                }
            }
            PresenceState::Left => {
                if state.users.contains(&user) {
                    state.users.retain(|u| *u != user);
                    state.typing.retain(|(u, _)| *u != user);
                    if !quiet {
                        state.add_event(user, false, newest);
                    }
                }
            }
            PresenceState::Typing => state.typing(user, now),
        }
    }

    fn on_error(
        &mut self,
        code: ErrorCode,
        message: String,
        client_id: Option<String>,
    ) -> Vec<ClientMsg> {
        let message = match code {
            ErrorCode::RateLimited => self.rate_sentence(),
            _ => message,
        };
        let op = client_id.as_deref().and_then(|id| {
            let p = self.core.pending().in_all().find(|p| p.client_id == id)?;
            Some(!p.is_message())
        });
        match (client_id, op) {
            // A refused edit, deletion or reaction is said and dropped: it must not hold the
            // room's later sends the way a refused message does until the user decides.
            (Some(id), Some(true)) => {
                self.notice = Some(format!("Not done: {message}"));
                return self.core.discard(&id).into_iter().collect();
            }
            (Some(id), Some(false)) => {
                self.core.fail(&id, message);
                return Vec::new();
            }
            _ => {}
        }
        match code {
            ErrorCode::InvalidName | ErrorCode::NameTaken => {
                self.name_refused = Some(message);
                self.refused_on_this_connection = true;
            }
            ErrorCode::Unauthorized => {
                self.token = None;
                self.signed_in = None;
                self.auth_error = Some(message);
            }
            _ => {
                // A refusal answers the joins being asked: they may be asked again.
                self.asking.clear();
                self.notice = Some(message);
            }
        }
        Vec::new()
    }
}
