//! What this library reports and remembers, without any IO: a [`Core`] (the rules every Banter
//! client follows: rooms with their resume point and epoch, sends by `client_id` in the order
//! written, repeats dropped) turned into [`Event`]s for the caller.
//!
//! The socket task feeds every server frame to [`Session::on_server`], writes
//! [`Session::take_frames`] after each, and at each (re)connect writes
//! [`Session::resume_frames`]. Messages are delivered once each, in `seq` order. A refused send
//! is dropped (its caller gets the refusal), so the sends after it go on. A refused `join` (the
//! server answers joins in order) fails the sends waiting for that room.
//!
//! v1.2: replies, edits, deletions and reactions are requests like sends ([`Session::submit`]);
//! `change` entries are reported once each ([`Event::Change`]), and a session that keeps
//! messages ([`Session::keeping`]) holds them folded (edited text, tombstones, reactions, reply
//! counts: [`Session::messages`]).

use std::collections::VecDeque;
use std::sync::Arc;

use banter_client_core::{Core, PendingOp};
use banter_protocol::{Change, ChatMessage, ClientMsg, ErrorCode, ServerMsg};

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A chat message, each once, in `seq` order per room (a reply names its thread's root in
    /// `reply_to`). A replayed one comes in its current state (edited text, or a tombstone).
    Message(ChatMessage),
    /// v1.2: an entry that changed message `change.target` (edit, delete, react, unreact), each
    /// once. `target` is the message as folded now, when the session keeps it.
    Change {
        change: Change,
        target: Option<ChatMessage>,
    },
    /// Some messages of `room` can no longer be replayed (history lost or trimmed).
    Gap { room: String },
    /// A `send` was stored as `seq`.
    Acked {
        client_id: String,
        room: String,
        seq: u64,
    },
    /// A request was refused (for a send: it is dropped, not retried).
    Refused {
        code: ErrorCode,
        message: String,
        client_id: Option<String>,
    },
    /// The connection is up and every room resumed.
    Connected,
    /// The connection dropped; the client reconnects by itself.
    Disconnected { reason: String },
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Session {
    name: String,
    core: Core,
    /// Rooms whose `join` the server has not answered yet, in the order written.
    unanswered: VecDeque<String>,
    /// Frames due (a send whose turn came), taken by the socket task.
    due: Vec<ClientMsg>,
}

impl Session {
    /// A session that keeps no messages (the caller has them).
    pub fn new(name: impl Into<String>) -> Self {
        Session::keeping(name, 0)
    }

    /// A session that keeps up to `keep` messages per room, folded.
    pub fn keeping(name: impl Into<String>, keep: usize) -> Self {
        Session {
            name: name.into(),
            core: Core::new(keep),
            unanswered: VecDeque::new(),
            due: Vec::new(),
        }
    }

    /// Follows `room`; with `since`, its replay starts after that `seq` (without: only what comes
    /// after joining). Returns the frame.
    pub fn join(&mut self, room: &str, since: Option<u64>) -> ClientMsg {
        self.core.follow(room, since);
        self.unanswered.push_back(room.to_owned());
        self.core.join_frame(room, &self.name)
    }

    /// Whether `room` is followed (sends to another room are refused at once).
    pub fn follows(&self, room: &str) -> bool {
        self.core.room(room).is_some()
    }

    /// Queues a send until its `ack`. Returns the frame if it may be written now (its room is
    /// joined and no earlier send of the room waits).
    pub fn send(&mut self, room: &str, text: &str, client_id: &str) -> Option<ClientMsg> {
        self.core.send(client_id, room, text)
    }

    /// Queues any request (v1.2: a reply, an edit, a deletion or a reaction; `text` for a send,
    /// reply or edit) until its `ack`, in turn with the room's sends. Returns the frame if it
    /// may be written now.
    pub fn submit(
        &mut self,
        room: &str,
        text: &str,
        op: PendingOp,
        client_id: &str,
    ) -> Option<ClientMsg> {
        self.core.submit(client_id, room, text, op)
    }

    /// The messages kept of `room`, oldest first, folded (none for a session that keeps none).
    pub fn messages(&self, room: &str) -> Vec<Arc<ChatMessage>> {
        let Some(r) = self.core.room(room) else {
            return Vec::new();
        };
        r.store.iter().cloned().collect()
    }

    /// How many `message` and `change` frames of `room` were dropped as repeats (see
    /// [`banter_client_core::RoomSync::repeats`]).
    pub fn repeats(&self, room: &str) -> u64 {
        self.core.room(room).map_or(0, |r| r.repeats)
    }

    /// Message `seq` of `room`, folded, when kept.
    pub fn message(&self, room: &str, seq: u64) -> Option<&Arc<ChatMessage>> {
        self.core.room(room)?.store.get(seq)
    }

    /// Sends not acked yet.
    pub fn pending(&self) -> usize {
        self.core.pending().len()
    }

    /// A new connection: a `join` per room (with `since` and `epoch`). The un-acked sends follow,
    /// with their `client_id`, as each room's `joined` comes ([`Session::take_frames`]).
    pub fn resume_frames(&mut self) -> Vec<ClientMsg> {
        self.core.disconnected();
        self.due.clear();
        self.unanswered = self.core.rooms().map(|(r, _)| r.clone()).collect();
        let rooms = self.unanswered.iter();
        rooms.map(|r| self.core.join_frame(r, &self.name)).collect()
    }

    /// The frames due after the last server frame.
    pub fn take_frames(&mut self) -> Vec<ClientMsg> {
        std::mem::take(&mut self.due)
    }

    /// Takes in one server frame; returns what to report.
    pub fn on_server(&mut self, msg: ServerMsg) -> Vec<Event> {
        match msg {
            ServerMsg::Joined {
                room, head, epoch, ..
            } => {
                self.answered(&room);
                let joined = self.core.joined(&room, head, &epoch);
                self.due.extend(joined.send);
                gap(joined.reset, room)
            }
            ServerMsg::Replay {
                room,
                from,
                to,
                complete,
                epoch,
            } => {
                use banter_client_core::Gap;
                let gap = self.core.replay_range(&room, from, to, &epoch, complete);
                let told = matches!(gap, Some(Gap::ServerReset | Gap::MissedWhileAway));
                self::gap(told, room)
            }
            ServerMsg::Message(m) => match self.core.message(m) {
                Some(m) => vec![Event::Message(Arc::unwrap_or_clone(m))],
                None => Vec::new(),
            },
            ServerMsg::Change(change) => match self.core.change(&change) {
                Some(changed) => vec![Event::Change {
                    change,
                    target: changed.target.map(Arc::unwrap_or_clone),
                }],
                None => Vec::new(),
            },
            ServerMsg::Ack {
                client_id,
                room,
                seq,
            } => {
                self.due.extend(self.core.ack(&client_id).next);
                vec![Event::Acked {
                    client_id,
                    room,
                    seq,
                }]
            }
            ServerMsg::Error {
                code,
                message,
                client_id,
            } => self.refused(code, message, client_id),
            _ => Vec::new(),
        }
    }

    fn answered(&mut self, room: &str) {
        if let Some(at) = self.unanswered.iter().position(|r| r == room) {
            self.unanswered.remove(at);
        }
    }

    /// A refusal: a send's is dropped (the next of its room goes); one without a `client_id`
    /// answers the oldest unanswered `join`: the sends waiting for that room fail with it, and
    /// the room is given up unless the refusal is passing (rate limit, busy or failing server:
    /// the next connection joins it again).
    fn refused(
        &mut self,
        code: ErrorCode,
        message: String,
        client_id: Option<String>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        match &client_id {
            Some(id) => self.due.extend(self.core.discard(id)),
            None => {
                if let Some(room) = self.unanswered.pop_front() {
                    let stranded = self.core.pending().in_room(&room);
                    let ids: Vec<String> = stranded.map(|p| p.client_id.clone()).collect();
                    for id in &ids {
                        self.core.discard(id);
                    }
                    let passing = matches!(
                        code,
                        ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal
                    );
                    if !passing {
                        self.core.leave(&room);
                    }
                    events.extend(ids.into_iter().map(|id| Event::Refused {
                        code,
                        message: message.clone(),
                        client_id: Some(id),
                    }));
                }
            }
        }
        events.push(Event::Refused {
            code,
            message,
            client_id,
        });
        events
    }
}

fn gap(told: bool, room: String) -> Vec<Event> {
    if told {
        vec![Event::Gap { room }]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(room: &str, seq: u64) -> ServerMsg {
        ServerMsg::Message(ChatMessage {
            room: room.into(),
            seq,
            id: format!("m{seq}"),
            user: "ada".into(),
            text: "hi".into(),
            ts: 0,
            ..Default::default()
        })
    }

    fn joined(room: &str, head: u64, epoch: &str) -> ServerMsg {
        ServerMsg::Joined {
            room: room.into(),
            users: vec![],
            head,
            epoch: epoch.into(),
            users_total: None,
            with: None,
            read: 0,
            role: None,
            private: false,
        }
    }

    fn seqs(events: &[Event]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn resumes_after_the_last_delivered_and_drops_repeats() {
        let mut s = Session::new("bot");
        s.join("lobby", None);
        let mut out = Vec::new();
        for seq in [1, 2, 3] {
            out.extend(s.on_server(msg("lobby", seq)));
        }
        assert_eq!(
            s.resume_frames(),
            [ClientMsg::Join {
                room: "lobby".into(),
                name: "bot".into(),
                since: Some(3),
                epoch: None,
                with: None,
            }]
        );
        for seq in [2, 3, 4] {
            out.extend(s.on_server(msg("lobby", seq)));
        }
        assert_eq!(seqs(&out), [1, 2, 3, 4]);
    }

    #[test]
    fn unacked_sends_are_resent_with_their_client_id() {
        let mut s = Session::new("bot");
        s.join("lobby", None);
        s.send("lobby", "one", "c1");
        s.send("lobby", "two", "c2");
        s.on_server(ServerMsg::Ack {
            client_id: "c1".into(),
            room: "lobby".into(),
            seq: 1,
        });
        let frames = s.resume_frames();
        assert_eq!(frames.len(), 1, "the join; the send waits for joined");
        s.on_server(joined("lobby", 1, "e1"));
        assert_eq!(
            s.take_frames(),
            [ClientMsg::Send {
                room: "lobby".into(),
                text: "two".into(),
                client_id: Some("c2".into()),
                reply_to: None,
                files: Vec::new(),
            }]
        );
    }

    #[test]
    fn sends_go_one_at_a_time_in_the_order_written() {
        let mut s = Session::new("bot");
        s.join("lobby", None);
        s.on_server(joined("lobby", 0, "e1"));
        assert!(s.send("lobby", "one", "c1").is_some());
        assert!(s.send("lobby", "two", "c2").is_none(), "after one's ack");
        // A refused send is dropped for good: the next one goes.
        let events = s.on_server(ServerMsg::error(
            ErrorCode::RateLimited,
            "slow",
            Some("c1".into()),
        ));
        assert!(matches!(&events[..], [Event::Refused { client_id: Some(id), .. }] if id == "c1"));
        assert!(matches!(&s.take_frames()[..], [ClientMsg::Send { text, .. }] if text == "two"));
    }

    #[test]
    fn a_refused_join_fails_the_sends_waiting_for_it() {
        let mut s = Session::new("bot");
        s.join("ok", None);
        s.join("secret", None);
        s.send("secret", "psst", "c1");
        s.on_server(joined("ok", 0, "e1"));
        let events = s.on_server(ServerMsg::error(ErrorCode::Forbidden, "not yours", None));
        assert!(
            events.iter().any(
                |e| matches!(e, Event::Refused { client_id: Some(id), code: ErrorCode::Forbidden, .. } if id == "c1")
            ),
            "{events:?}"
        );
        assert_eq!(s.pending(), 0);
        assert!(!s.follows("secret") && s.follows("ok"));

        // A passing refusal (the rate limit) keeps the room for the next connection.
        s.join("busy", None);
        s.send("busy", "later", "c2");
        let events = s.on_server(ServerMsg::error(ErrorCode::RateLimited, "slow", None));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Refused { client_id: Some(id), .. } if id == "c2"))
        );
        assert!(s.follows("busy") && s.pending() == 0);
    }

    #[test]
    fn a_new_epoch_starts_the_room_over() {
        let mut s = Session::new("bot");
        s.join("lobby", None);
        s.on_server(joined("lobby", 0, "e1"));
        s.on_server(msg("lobby", 1));
        s.on_server(msg("lobby", 2));
        let events = s.on_server(joined("lobby", 5, "e2"));
        assert_eq!(
            events,
            [Event::Gap {
                room: "lobby".into()
            }]
        );
        assert_eq!(seqs(&s.on_server(msg("lobby", 1))), [1]);
    }

    #[test]
    fn changes_come_once_and_a_keeping_session_holds_messages_folded() {
        use banter_protocol::ChangeKind;
        let mut s = Session::keeping("bot", 100);
        s.join("lobby", None);
        s.on_server(joined("lobby", 0, "e1"));
        s.on_server(msg("lobby", 1));
        let edit = Change {
            room: "lobby".into(),
            seq: 2,
            target: 1,
            user: "ada".into(),
            ts: 5,
            kind: ChangeKind::Edit,
            text: Some("fixed".into()),
            emoji: None,
        };
        let events = s.on_server(ServerMsg::Change(edit.clone()));
        let [Event::Change { change, target }] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(change, &edit);
        assert_eq!(target.as_ref().map(|m| m.text.as_str()), Some("fixed"));
        assert!(s.on_server(ServerMsg::Change(edit)).is_empty(), "once");
        assert_eq!(s.message("lobby", 1).unwrap().edited_ts, Some(5));
        assert_eq!(s.messages("lobby").len(), 1);
        let join = &s.resume_frames()[0];
        assert!(matches!(join, ClientMsg::Join { since: Some(2), .. }));
    }
}
