//! Where a room lives in Redis. Every key of a room shares the hash tag `{room}`, so a room's
//! keys sit together; the global keys (the room list, each user's conversations) mean Banter
//! targets one Redis (with replicas), not Redis Cluster.

/// The sorted set of room names that hold messages (all scores 0: ordered by name).
pub const ROOMS: &str = "banter:rooms";

/// The keys and channel of one room.
pub struct Keys {
    /// INCR counter: the room's head.
    pub seq: String,
    /// The room's epoch (created when missing).
    pub epoch: String,
    /// The stream of messages, entry id `<seq>-0`, field `m` = the message JSON.
    pub stream: String,
    /// The pub/sub channel live messages (and presence changes) are published on.
    pub channel: String,
    /// Hash of who is present on which node: field `<node>\n<name>`.
    pub present: String,
    /// A private conversation's members: hash with fields `a` and `b`.
    pub members: String,
    /// v1.2: hash `seq` → the entry's current JSON, for entries changed since they were
    /// stored (a message edited, reacted to, replied to or deleted; an edit erased).
    pub fold: String,
    /// v1.2: hash `target` → its edit count, and `target:s` → its edits' `seq`s.
    pub edits: String,
    prefix: String,
}

/// The channel's suffix after the room's prefix.
const CHANNEL: &str = ":live";
const PREFIX: &str = "banter:r:{";
/// Private conversations live under their own prefix: a node of a version before
/// conversations, which would take `dm-…` for an ordinary room, never reads or writes them.
const CONVERSATION_PREFIX: &str = "banter:c:{";

impl Keys {
    pub fn new(room: &str) -> Self {
        let kind = if banter_protocol::is_conversation(room) {
            CONVERSATION_PREFIX
        } else {
            PREFIX
        };
        let prefix = format!("{kind}{room}}}");
        Keys {
            seq: format!("{prefix}:seq"),
            epoch: format!("{prefix}:epoch"),
            stream: format!("{prefix}:log"),
            channel: format!("{prefix}{CHANNEL}"),
            present: format!("{prefix}:present"),
            members: format!("{prefix}:members"),
            fold: format!("{prefix}:fold"),
            edits: format!("{prefix}:edits"),
            prefix,
        }
    }

    /// v1.2: hash of the room's access: `!` (created: `0` public, `1` private) and `u:NAME`
    /// (a user's standing, JSON). See `members.rs`.
    pub fn access(&self) -> String {
        format!("{}:access", self.prefix)
    }

    /// The key remembering a dedupe key of this room for the dedupe window (its value: the
    /// entry's `seq`).
    pub fn dedupe(&self, key: &str) -> String {
        format!("{}:dd:{key}", self.prefix)
    }
}

/// The key that says a node is alive (it expires when the node stops refreshing it).
pub fn node(id: &str) -> String {
    format!("banter:node:{id}")
}

const USER: &str = "banter:u:";

/// `name`'s private conversations (room ids) scored by their last message's time (ms): a page
/// of the most recent is one `ZREVRANGE`.
pub fn conversations_of(name: &str) -> String {
    format!("banter:ucr:{name}")
}

/// The unordered set of `name`'s conversations that versions before the sorted index kept;
/// moved into [`conversations_of`] on the first read (see `conversations::of_user`).
pub fn legacy_conversations_of(name: &str) -> String {
    format!("banter:uc:{name}")
}

/// `name`'s read positions: a hash of room → `seq` (see `positions`).
pub fn positions_of(name: &str) -> String {
    format!("banter:rp:{name}")
}

/// The channel of direct messages for `name`, subscribed by the nodes it is connected to.
pub fn user_channel(name: &str) -> String {
    format!("{USER}{name}")
}

/// The user a direct-message channel belongs to.
pub fn user_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix(USER)
}

/// The room a channel belongs to.
pub fn room_of_channel(channel: &str) -> Option<&str> {
    channel
        .strip_prefix(PREFIX)
        .or_else(|| channel.strip_prefix(CONVERSATION_PREFIX))?
        .strip_suffix(CHANNEL)?
        .strip_suffix('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_names_its_room() {
        let k = Keys::new("general}x");
        assert_eq!(room_of_channel(&k.channel), Some("general}x"));
        assert_eq!(room_of_channel("other"), None);
        let dm = "dm-0123456789abcdef0123456789abcdef";
        let k = Keys::new(dm);
        assert!(k.seq.starts_with(CONVERSATION_PREFIX), "{}", k.seq);
        assert_eq!(room_of_channel(&k.channel), Some(dm));
    }
}
