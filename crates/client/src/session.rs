//! What a client must remember to resume, without any IO: the rooms it follows with the last
//! `seq` it delivered and their `epoch`, and the messages it sent that are not acked yet.
//!
//! The socket task feeds every server frame to [`Session::on_server`] and, after each
//! (re)connect, sends [`Session::resume_frames`]. Messages are delivered once each, in `seq`
//! order: a replayed message the client already delivered is dropped. When a room's history is
//! a new life (a different `epoch`, or a server without epochs whose room went back below what
//! the client saw), the cursor starts over and [`Event::Gap`] says so.

use std::collections::{BTreeMap, VecDeque};

use banter_protocol::{ChatMessage, ClientMsg, ErrorCode, ServerMsg};

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A chat message, each once, in `seq` order per room.
    Message(ChatMessage),
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

/// A room followed: where its replay resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Cursor {
    /// The last `seq` delivered (or the `since` asked for at first).
    last: Option<u64>,
    epoch: Option<String>,
}

/// A send not acked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    client_id: String,
    room: String,
    text: String,
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Session {
    name: String,
    rooms: BTreeMap<String, Cursor>,
    pending: VecDeque<Pending>,
}

impl Session {
    pub fn new(name: impl Into<String>) -> Self {
        Session {
            name: name.into(),
            ..Session::default()
        }
    }

    /// Follows `room`; with `since`, its replay starts after that `seq`. Returns the frame.
    pub fn join(&mut self, room: &str, since: Option<u64>) -> ClientMsg {
        let cursor = self.rooms.entry(room.to_owned()).or_default();
        if cursor.last.is_none() {
            cursor.last = since;
        }
        self.join_frame(room)
    }

    fn join_frame(&self, room: &str) -> ClientMsg {
        let cursor = self.rooms.get(room).cloned().unwrap_or_default();
        ClientMsg::Join {
            room: room.to_owned(),
            name: self.name.clone(),
            since: cursor.last,
            epoch: cursor.epoch,
            with: None,
        }
    }

    /// Queues a send until its `ack`. Returns the frame.
    pub fn send(&mut self, room: &str, text: &str, client_id: &str) -> ClientMsg {
        let p = Pending {
            client_id: client_id.to_owned(),
            room: room.to_owned(),
            text: text.to_owned(),
        };
        let frame = send_frame(&p);
        self.pending.push_back(p);
        frame
    }

    /// Sends not acked yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// After a (re)connect: a `join` per room (with `since` and `epoch`), then every un-acked
    /// send again, with its `client_id`.
    pub fn resume_frames(&self) -> Vec<ClientMsg> {
        let joins = self.rooms.keys().map(|r| self.join_frame(r));
        joins.chain(self.pending.iter().map(send_frame)).collect()
    }

    /// Takes in one server frame; returns what to report.
    pub fn on_server(&mut self, msg: ServerMsg) -> Vec<Event> {
        match msg {
            ServerMsg::Joined {
                room, head, epoch, ..
            } => self.new_life(&room, head, &epoch),
            ServerMsg::Replay {
                room,
                to,
                complete,
                epoch,
                ..
            } => {
                let mut events = self.new_life(&room, to, &epoch);
                let since = self.rooms.get(&room).and_then(|c| c.last).unwrap_or(0);
                if !complete && since > 0 && events.is_empty() {
                    events.push(Event::Gap { room });
                }
                events
            }
            ServerMsg::Message(m) => {
                let Some(cursor) = self.rooms.get_mut(&m.room) else {
                    return Vec::new();
                };
                if cursor.last.is_some_and(|last| m.seq <= last) {
                    return Vec::new();
                }
                cursor.last = Some(m.seq);
                vec![Event::Message(m)]
            }
            ServerMsg::Ack {
                client_id,
                room,
                seq,
            } => {
                self.pending.retain(|p| p.client_id != client_id);
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
            } => {
                if let Some(id) = &client_id {
                    self.pending.retain(|p| &p.client_id != id);
                }
                vec![Event::Refused {
                    code,
                    message,
                    client_id,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Starts a room's cursor over when its history is not the one the cursor counted in: a
    /// different epoch, or (servers without epochs) a head below what was delivered.
    fn new_life(&mut self, room: &str, head: u64, epoch: &str) -> Vec<Event> {
        let Some(cursor) = self.rooms.get_mut(room) else {
            return Vec::new();
        };
        let other_epoch = !epoch.is_empty() && cursor.epoch.as_deref().is_some_and(|e| e != epoch);
        let went_back = cursor.last.is_some_and(|last| head < last);
        if !epoch.is_empty() {
            cursor.epoch = Some(epoch.to_owned());
        }
        if other_epoch || went_back {
            cursor.last = Some(0);
            return vec![Event::Gap {
                room: room.to_owned(),
            }];
        }
        Vec::new()
    }
}

fn send_frame(p: &Pending) -> ClientMsg {
    ClientMsg::Send {
        room: p.room.clone(),
        text: p.text.clone(),
        client_id: Some(p.client_id.clone()),
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
        })
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
        assert_eq!(frames.len(), 2);
        assert_eq!(
            frames[1],
            ClientMsg::Send {
                room: "lobby".into(),
                text: "two".into(),
                client_id: Some("c2".into())
            }
        );
    }

    #[test]
    fn a_new_epoch_starts_the_room_over() {
        let mut s = Session::new("bot");
        s.join("lobby", None);
        s.on_server(ServerMsg::Joined {
            room: "lobby".into(),
            users: vec![],
            head: 0,
            epoch: "e1".into(),
            users_total: None,
            with: None,
        });
        s.on_server(msg("lobby", 1));
        s.on_server(msg("lobby", 2));
        let events = s.on_server(ServerMsg::Joined {
            room: "lobby".into(),
            users: vec![],
            head: 5,
            epoch: "e2".into(),
            users_total: None,
            with: None,
        });
        assert_eq!(
            events,
            [Event::Gap {
                room: "lobby".into()
            }]
        );
        assert_eq!(seqs(&s.on_server(msg("lobby", 1))), [1]);
    }
}
