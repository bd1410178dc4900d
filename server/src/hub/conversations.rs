//! Private conversations: a direct message belongs to the conversation of exactly two users,
//! stored like a room (durable, `seq`, resume, history), readable and writable only by them.
//!
//! A conversation's room id is `dm-` and 32 hex digits of SHA-256 over the two names, sorted
//! (see [`id`]): the same pair always meets in the same room, on any node and after any
//! restart, and nobody can aim another pair's id at a room of their own. The id cannot be
//! inverted, so who the members are is stored with the conversation's messages
//! ([`NewMessage::members`](crate::store::NewMessage)) and cached here ([`Conversations`]); a
//! `join` by `with` proves membership by construction and needs no lookup.
//!
//! Delivery: a stored message is published to the room (members who joined it get a `message`
//! frame), then as one `direct` frame to the two members' other connections, here and on other
//! nodes ([`notify`]), so a client that has not joined the conversation still hears of it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use banter_protocol::http::ConversationList;
use banter_protocol::{DirectMessage, ErrorCode, ServerMsg, ValidationError};
use sha2::{Digest, Sha256};

use super::Extra;
use super::Hub;
use super::rooms::Rooms;
use super::users::Users;
use crate::store::{Appended, Frame, Store, StoreError, Stored};

/// Conversations whose members are remembered in memory at most; the cache is cleared when it
/// grows past this (it is only a cache: the store has them).
const CACHE: usize = 100_000;

/// The two members of a conversation, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members(pub Arc<str>, pub Arc<str>);

impl Members {
    pub fn new(a: &str, b: &str) -> Self {
        if a <= b {
            Members(a.into(), b.into())
        } else {
            Members(b.into(), a.into())
        }
    }

    pub fn has(&self, name: &str) -> bool {
        *self.0 == *name || *self.1 == *name
    }

    /// The member who is not `name` (`name` itself in a conversation with oneself).
    pub fn other(&self, name: &str) -> &Arc<str> {
        if *self.0 == *name { &self.1 } else { &self.0 }
    }
}

/// The room id of the conversation between `a` and `b` (in either order).
pub fn id(a: &str, b: &str) -> String {
    let m = Members::new(a, b);
    let mut h = Sha256::new();
    h.update(m.0.as_bytes());
    // Names have no control characters: NUL cannot occur in either, so the pair is unambiguous.
    h.update([0u8]);
    h.update(m.1.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(banter_protocol::CONVERSATION_PREFIX.len() + 32);
    out.push_str(banter_protocol::CONVERSATION_PREFIX);
    for b in &digest[..16] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Checks that `room` is a well-formed conversation id (any `dm-` room that is not is refused).
pub fn valid_id(room: &str) -> Result<&str, ValidationError> {
    let hex = room
        .strip_prefix(banter_protocol::CONVERSATION_PREFIX)
        .unwrap_or_default();
    if hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(room)
    } else {
        Err(ValidationError {
            code: ErrorCode::InvalidRoom,
            message: "rooms named `dm-…` are private conversations: open one with `with`".into(),
        })
    }
}

/// The refusal for someone who is not a member (the same whether or not it exists).
pub fn forbidden() -> ValidationError {
    ValidationError {
        code: ErrorCode::Forbidden,
        message: "this private conversation is not yours".into(),
    }
}

/// Members of conversations seen lately, by room id.
#[derive(Default)]
pub struct Conversations {
    cache: Mutex<HashMap<Arc<str>, Members>>,
}

impl Conversations {
    /// Remembers the members of `room` (opened by `with`, or read from the store).
    pub fn remember(&self, room: &str, members: &Members) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE {
            cache.clear();
        }
        cache.insert(room.into(), members.clone());
    }

    /// The members of `room` if the cache has them.
    pub fn cached(&self, room: &str) -> Option<Members> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(room)
            .cloned()
    }

    /// The members of `room`: from the cache, else from the store (which knows a conversation
    /// once it holds a message). `None` when nobody opened it.
    pub async fn members(&self, room: &str, store: &Store) -> Result<Option<Members>, StoreError> {
        if let Some(m) = self.cached(room) {
            return Ok(Some(m));
        }
        let found = store
            .members(room)
            .await?
            .map(|(a, b)| Members::new(&a, &b));
        if let Some(m) = &found {
            self.remember(room, m);
        }
        Ok(found)
    }

    /// `user`'s standing in `room`: its members if `user` is one, else `forbidden`.
    pub async fn check(
        &self,
        room: &str,
        user: &str,
        store: &Store,
    ) -> Result<Members, ValidationError> {
        match self.members(room, store).await {
            Ok(Some(m)) if m.has(user) => Ok(m),
            Ok(_) => Err(forbidden()),
            Err(e) => Err(super::refusal(&e)),
        }
    }
}

/// The `direct` frame of a stored conversation message from `from` to the other member.
pub fn direct_of(stored: &Stored, members: &Members, client_id: Option<String>) -> DirectMessage {
    let empty = banter_protocol::ChatMessage::default();
    let m = stored.msg().unwrap_or(&empty);
    DirectMessage {
        from: m.user.clone(),
        to: members.other(&m.user).to_string(),
        text: m.text.clone(),
        id: m.id.clone(),
        ts: m.ts,
        client_id,
        room: Some(m.room.clone()),
        seq: Some(m.seq),
    }
}

/// Tells both members' connections that have not joined the conversation (except `skip`, the
/// connection that sent it and gets its own echo) of a new message, here and on other nodes.
pub fn notify(
    rooms: &Rooms,
    users: &Users,
    store: &Store,
    stored: &Stored,
    members: &Members,
    skip: Option<u64>,
) {
    let Some(m) = stored.msg() else {
        // A change in a conversation reaches its joined members only.
        return;
    };
    let frame: Frame = ServerMsg::Direct(direct_of(stored, members, None))
        .to_json()
        .into();
    let room = &m.room;
    let joined = rooms.member_ids(room);
    let names: &[&Arc<str>] = if members.0 == members.1 {
        &[&members.0]
    } else {
        &[&members.0, &members.1]
    };
    for name in names {
        users.deliver_except(name, &frame, |id| Some(id) == skip || joined.contains(&id));
        store.direct(name, room, &frame);
    }
}

impl Hub {
    /// The conversation between `me` and `with` (checked here): its id and members.
    pub fn open_conversation(
        &self,
        me: &str,
        with: &str,
    ) -> Result<(String, Members), ValidationError> {
        let with = self.inner.cfg.limits.name(with)?;
        let room = id(me, with);
        let members = Members::new(me, with);
        self.inner.conversations.remember(&room, &members);
        Ok((room, members))
    }

    /// The members of conversation `room` if `user` is one of them, else `forbidden`.
    pub async fn member(&self, room: &str, user: &str) -> Result<Members, ValidationError> {
        let loaded = self
            .inner
            .rooms
            .get(room)
            .and_then(|r| r.lock().conversation.clone());
        match loaded {
            Some(m) if m.has(user) => Ok(m),
            Some(_) => Err(forbidden()),
            None => {
                self.inner
                    .conversations
                    .check(room, user, &self.inner.store)
                    .await
            }
        }
    }

    /// [`Hub::member`] from memory only: `None` when only the store knows.
    pub fn member_now(&self, room: &str, user: &str) -> Option<Result<Members, ValidationError>> {
        let known = self
            .inner
            .rooms
            .get(room)
            .and_then(|r| r.lock().conversation.clone())
            .or_else(|| self.inner.conversations.cached(room))?;
        Some(if known.has(user) {
            Ok(known)
        } else {
            Err(forbidden())
        })
    }

    /// A v1 `direct`: stored in the conversation of `from` and `to` like any message; once it
    /// is stored, `reply` gets it with its `direct` form (echoing `client_id`) or the error, and
    /// the members' other connections (all but `skip`, the sending one) hear of it (see
    /// [`notify`]). `reply` runs on the store's thread: it must not block.
    pub fn direct(
        &self,
        from: &str,
        to: &str,
        text: &str,
        client_id: Option<&str>,
        skip: u64,
        reply: impl FnOnce(Result<(Appended, DirectMessage), StoreError>) + Send + 'static,
    ) -> Result<(), ValidationError> {
        let (room, members) = self.open_conversation(from, to)?;
        let cid = client_id.map(str::to_owned);
        let m = members.clone();
        self.append(
            &room,
            from,
            text,
            client_id,
            Some(members),
            Some(skip),
            Extra::default(),
            move |result| {
                reply(result.map(|a| {
                    let direct = direct_of(&a.stored, &m, cid);
                    (a, direct)
                }))
            },
        )
    }

    /// `user`'s private conversations, most recent first.
    pub async fn conversations(
        &self,
        user: &str,
        limit: usize,
    ) -> Result<ConversationList, StoreError> {
        Ok(ConversationList {
            conversations: self.inner.store.conversations(user, limit).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_has_one_id_in_either_order() {
        let ab = id("ada", "bob");
        assert_eq!(ab, id("bob", "ada"));
        assert!(valid_id(&ab).is_ok(), "{ab}");
        assert_eq!(ab.len(), 35);
        assert_ne!(ab, id("ada", "bo"));
        assert_ne!(
            id("a", "bc"),
            id("ab", "c"),
            "the separator keeps pairs apart"
        );
        assert!(banter_protocol::Limits::default().room(&ab).is_ok());
    }

    #[test]
    fn only_well_formed_ids_are_conversations() {
        for bad in [
            "dm-",
            "dm-xyz",
            &format!("dm-{}", "A".repeat(32)),
            "dm-general",
        ] {
            assert_eq!(valid_id(bad).unwrap_err().code, ErrorCode::InvalidRoom);
        }
    }

    #[test]
    fn members_know_each_other() {
        let m = Members::new("zoe", "ada");
        assert_eq!(&*m.0, "ada");
        assert_eq!(&**m.other("ada"), "zoe");
        assert_eq!(&**m.other("zoe"), "ada");
        assert!(!m.has("eve"));
        let me = Members::new("ada", "ada");
        assert_eq!(&**me.other("ada"), "ada");
    }
}
