//! The Lua scripts that run inside Redis, and the message template they fill in.
//!
//! One script per post ([`POST`]) makes a post atomic: it finds a duplicate by the dedupe key,
//! takes the room's next `seq` (INCR), appends the message to the room's stream under the entry
//! id `<seq>-0`, trims the stream to `--retain-messages`, remembers the dedupe key for
//! `--dedupe-window`, and PUBLISHes the message on the room's channel, all in one step that no
//! other node's post can interleave with. The entry id is the `seq` itself (not a field) so that
//! a range of `seq`s is one XRANGE with no index to keep, and Redis refuses an id that does not
//! grow: a `seq` can never be appended twice.
//!
//! The message is serialized once, in Rust, with a placeholder `seq`; the script splices the
//! real `seq` in ([`Template`]), so the bytes kept in the stream, published, and sent to clients
//! are the same JSON. The epoch lives in Redis too, with the life of Redis's data it belongs to
//! (see [`life`](super::life)): a Redis that lost a room or rolled back (restarted without
//! persistence, or from an older snapshot) gives it a new epoch, and clients resuming with the
//! old one are told `complete: false`. Only a post writes a room's epoch: a read computes it.

use banter_protocol::ChatMessage;
use redis::Script;

use super::life::life_lua;

use crate::store::{NewMessage, StoreError};

/// KEYS: seq, epoch, stream, dedupe key, room list, and for a private conversation its members
/// hash and the two members' conversation sets; then [`LIFE`](super::life::LIFE). ARGV: the
/// template's prefix and suffix, retain (0 = all), dedupe window in ms (0 = no dedupe key), room
/// name, channel, and the two members (empty for a room).
/// Returns `{epoch, "0" | "1" (duplicate), message JSON}`; the payload published is
/// `epoch "\n" seq "\n" message`. Runs after [`REFRESH`](super::life::REFRESH) in the same
/// pipeline, so the recorded life is this Redis process's; without one it refuses (nothing is
/// written).
const POST: &str = concat!(
    life_lua!(),
    r#"
local life_rec = redis.call('GET', KEYS[9])
local nonce = life_rec and string.match(life_rec, '^%x+ (%x+) [01]$')
if not nonce then return redis.error_reply('banter: no life recorded: refresh first') end
local rec = redis.call('GET', KEYS[2])
local epoch, renewed = epoch_of(rec, ARGV[5], nonce)
local window = tonumber(ARGV[4])
if window > 0 then
  local seen = redis.call('GET', KEYS[4])
  if seen then return {epoch, '1', seen} end
end
local seq = redis.call('INCR', KEYS[1])
if seq == 1 and rec then
  -- The counter is gone but the epoch is not: a new epoch, or seq 1 would be reused.
  epoch = renew(epoch, 'counter ' .. nonce)
  renewed = true
end
if renewed then redis.call('SET', KEYS[2], epoch .. ' ' .. nonce) end
local msg = ARGV[1] .. seq .. ARGV[2]
local retain = tonumber(ARGV[3])
if retain > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', retain, seq .. '-0', 'm', msg)
else
  redis.call('XADD', KEYS[3], seq .. '-0', 'm', msg)
end
if window > 0 then redis.call('SET', KEYS[4], msg, 'PX', window) end
if seq == 1 and ARGV[7] == '' then redis.call('ZADD', KEYS[5], 0, ARGV[5]) end
if ARGV[7] ~= '' and redis.call('HSETNX', KEYS[6], 'a', ARGV[7]) == 1 then
  redis.call('HSET', KEYS[6], 'b', ARGV[8])
  redis.call('SADD', KEYS[7], ARGV[5])
  redis.call('SADD', KEYS[8], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], epoch .. '\n' .. seq .. '\n' .. msg)
return {epoch, '0', msg}
"#
);

/// KEYS: seq, epoch, stream, [`LIFE`](super::life::LIFE). ARGV: mode (`meta`, `after` or
/// `before`), bound, limit, room name. Returns `{epoch, head, oldest, message JSON...}`
/// (ascending for `after`, descending for `before`), all from one moment. Writes nothing: a
/// room's epoch, and a life renewed since the last post, are computed as the next post will
/// write them.
const READ: &str = concat!(
    life_lua!(),
    r#"
local nonce, run = life(KEYS[4])
local epoch = epoch_of(redis.call('GET', KEYS[2]), ARGV[4], nonce or renew('', run))
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local oldest = head + 1
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
if #first > 0 then oldest = tonumber(string.match(first[1][1], '^%d+')) end
local out = {epoch, tostring(head), tostring(oldest)}
local bound = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local entries = {}
if ARGV[1] == 'after' and limit > 0 then
  entries = redis.call('XRANGE', KEYS[3], (bound + 1) .. '-0', '+', 'COUNT', limit)
elseif ARGV[1] == 'before' and limit > 0 and bound > 1 then
  entries = redis.call('XREVRANGE', KEYS[3], (bound - 1) .. '-0', '-', 'COUNT', limit)
end
for i = 1, #entries do out[#out + 1] = entries[i][2][2] end
return out
"#
);

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
}

/// The placeholder the template is cut at. Inside a JSON string a `"` is escaped, so this can
/// only be the `seq` field itself, which serde writes right after `room`.
const PLACEHOLDER: &str = "\"seq\":0,";

impl Template {
    /// Serializes `msg` with a fresh id and the time now, leaving the `seq` to the script.
    pub fn new(msg: &NewMessage) -> Result<Self, StoreError> {
        let json = serde_json::to_string(&msg.sequenced(0)).map_err(StoreError::failed)?;
        let at = json
            .find(PLACEHOLDER)
            .ok_or_else(|| StoreError::failed("message template without a seq field"))?;
        let split = at + PLACEHOLDER.len() - 2;
        Ok(Template {
            prefix: json[..split].to_owned(),
            suffix: json[split + 1..].to_owned(),
        })
    }
}

/// Parses a message as the scripts keep it.
pub fn decode(json: &str) -> Result<ChatMessage, StoreError> {
    serde_json::from_str(json).map_err(StoreError::failed)
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
            dedupe_key: None,
            members: None,
        };
        let t = Template::new(&msg).expect("template");
        let json = format!("{}{}{}", t.prefix, 42, t.suffix);
        let back = decode(&json).expect("valid JSON");
        assert_eq!(back.seq, 42);
        assert_eq!(back.room, "r\"seq\":0,");
        assert_eq!(back.text, "\"seq\":0, hi");
    }
}
