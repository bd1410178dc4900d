//! The Lua scripts that run inside Redis (`post.lua`, `read.lua`, beside this file, each after
//! `life.lua`), and the message template they fill in.
//!
//! One script run ([`POST`]) stores one room's queued posts atomically: for each it finds a
//! duplicate by the dedupe key, takes the room's next `seq`, appends the message to the room's
//! stream under the entry id `<seq>-0`, remembers the dedupe key (holding the entry's `seq`,
//! never its bytes, so a deletion leaves nothing there) for `--dedupe-window`; then it trims
//! the stream to `--retain-messages` and PUBLISHes the messages on the room's channel, all in
//! one step that no other node's post can interleave with (what the posts share is read and
//! written once per run: `batch_state.lua`). The entry id is the `seq` itself (not a field) so that
//! a range of `seq`s is one XRANGE with no index to keep, and Redis refuses an id that does not
//! grow: a `seq` can never be appended twice.
//!
//! The message is serialized once, in Rust, with a placeholder `seq`; the script splices the
//! real `seq` in ([`Template`]), so the bytes kept in the stream, published, and sent to clients
//! are the same JSON. The epoch lives in Redis too, with the life of Redis's data it belongs to
//! (see [`life`](super::life)): a Redis that lost a room or rolled back (restarted without
//! persistence, or from an older snapshot) gives it a new epoch, and clients resuming with the
//! old one are told `complete: false`. Only a post writes a room's epoch: a read computes it.

use banter_protocol::{Change, ChatMessage};
use redis::Script;

use super::life::life_lua;

use crate::store::{Entry, NewMessage, StoreError};

/// KEYS: seq, epoch, stream, dedupe key, room list, and for a private conversation its members
/// hash and the two members' conversation indexes (sorted sets by the last message's time); then
/// [`LIFE`](super::life::LIFE). ARGV: the template's prefix and suffix, retain (0 = all), dedupe
/// window in ms (0 = no dedupe key), room name, channel, the two members (empty for a room), and
/// the message's `ts`. v1.2 adds KEYS fold and edits, and ARGV mode, target, kind, user, emoji,
/// an edit's text, the edit and reaction limits, whether the user may delete any message and
/// the most entries a stream node holds (see `lifecycle.lua`, prepended, and [`erase`](super::erase)). Returns `{epoch, "0" | "1" (duplicate) | "2" (a change
/// that changes nothing: the target's JSON), JSON}` or `{epoch, "e", refusal}`.
/// Several posts of one room go in one call (`batch.lua`, see [`post`](super::post)): one
/// such reply per post; the payload published is `epoch "\n" seq "\n" message`, with more
/// `"\n" seq "\n" message` pairs for the posts stored together. Runs after [`REFRESH`](super::life::REFRESH) in the same
/// pipeline, so the recorded life is this Redis process's; without one it refuses (nothing is
/// written).
const POST: &str = concat!(
    life_lua!(),
    include_str!("lifecycle.lua"),
    include_str!("batch_state.lua"),
    "local function post_one(epoch, renewed, nonce, rec)\n",
    include_str!("post.lua"),
    "\nend\n",
    include_str!("batch.lua")
);

/// KEYS: seq, epoch, stream, [`LIFE`](super::life::LIFE), fold (v1.2). ARGV: mode (`meta`, `after` or
/// `before`), bound, limit, room name. Returns `{epoch, head, oldest, message JSON...}`
/// (ascending for `after`, descending for `before`), all from one moment. Writes nothing: a
/// room's epoch, and a life renewed since the last post, are computed as the next post will
/// write them.
const READ: &str = concat!(life_lua!(), include_str!("read.lua"));

/// The largest `seq` bound passed to a script: Lua numbers are doubles printed with 14
/// significant digits, so larger bounds are clamped (no room gets near it).
pub const MAX_BOUND: u64 = 10_000_000_000_000;

pub fn post() -> Script {
    Script::new(POST)
}

pub fn read() -> Script {
    Script::new(READ)
}

/// A message's JSON split around its `seq`: `prefix + seq + suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub prefix: String,
    pub suffix: String,
    /// The message's time (ms), as written in the JSON.
    pub ts: u64,
}

/// The placeholder the template is cut at. Inside a JSON string a `"` is escaped, so this can
/// only be the `seq` field itself, which serde writes right after `room`.
const PLACEHOLDER: &str = "\"seq\":0,";

impl Template {
    /// Serializes `msg` with a fresh id and the time now, leaving the `seq` to the script.
    /// A change (v1.2) is serialized as its `change` entry; a reply without its `reply_to`,
    /// which the script adds once it has found the thread's root.
    pub fn new(msg: &NewMessage) -> Result<Self, StoreError> {
        let mut sequenced = msg.sequenced(0);
        sequenced.reply_to = None;
        let json = match msg.change_entry(0, sequenced.ts) {
            Some(c) => serde_json::to_string(&c),
            None => serde_json::to_string(&sequenced),
        }
        .map_err(StoreError::failed)?;
        let at = json
            .find(PLACEHOLDER)
            .ok_or_else(|| StoreError::failed("message template without a seq field"))?;
        let split = at + PLACEHOLDER.len() - 2;
        Ok(Template {
            prefix: json[..split].to_owned(),
            suffix: json[split + 1..].to_owned(),
            ts: sequenced.ts,
        })
    }
}

/// Parses an entry as the scripts keep it: a message, or (v1.2) a change, which alone has
/// `target` and `kind`.
pub fn decode(json: &str) -> Result<Entry, StoreError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Kept {
        Change(Change),
        Message(ChatMessage),
    }
    match serde_json::from_str(json).map_err(StoreError::failed)? {
        Kept::Change(c) => Ok(Entry::Change(c)),
        Kept::Message(m) => Ok(Entry::Message(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_splices_the_seq_into_the_same_json() {
        let msg = NewMessage {
            room: "r\"seq\":0,".into(),
            user: "ann".into(),
            text: "\"seq\":0, hi".into(),
            ..NewMessage::default()
        };
        let t = Template::new(&msg).expect("template");
        let json = format!("{}{}{}", t.prefix, 42, t.suffix);
        let back = decode(&json).expect("valid JSON");
        let Entry::Message(back) = back else {
            panic!("a message")
        };
        assert_eq!(back.seq, 42);
        assert_eq!(back.room, "r\"seq\":0,");
        assert_eq!(back.text, "\"seq\":0, hi");
    }
}
