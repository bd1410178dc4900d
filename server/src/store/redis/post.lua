-- The post script's body for one post (after life.lua and lifecycle.lua, wrapped in
-- post_one(epoch, renewed, nonce, rec) and run once per post by batch.lua, which reads the
-- life and the room's epoch once per call): see script.rs for its KEYS, ARGV and reply. A
-- stored post's reply also carries its seq, for batch.lua's PUBLISH. What one post would do
-- with a command of its own is done once per call by batch.lua, through `B` (see there): the
-- dedupe keys are read before the first post and remembered after the last, the counter is
-- read once and written once, the stream is trimmed once.
local window = tonumber(ARGV[4])
local field
if window > 0 then
  -- The dedupe key holds the entry's seq (not its bytes, so that a deletion erases nothing
  -- there): a re-send gets the entry as it is now (a tombstone once deleted). One trimmed away
  -- is stored anew, as with SQLite. A key of an older version holds the JSON itself.
  field = B.field(KEYS[4])
  local seen = B.seen[field]
  if seen and string.sub(seen, 1, 1) == '{' then return {epoch, '1', seen} end
  local now = seen and current_of(seen)
  if now then return {epoch, '1', now} end
end
-- v1.2: a change is checked on its target's current state here, atomically (see lifecycle.lua).
local mode, target = ARGV[10], tonumber(ARGV[11])
local folded, root
if mode == 'change' then
  local t, refusal, current = check_change(target)
  if refusal == 'noop' then return {epoch, '2', current} end
  if refusal then return {epoch, 'e', refusal} end
  folded = t
elseif mode == 'reply' then
  local parent = current_of(target)
  if not parent then return {epoch, 'e', 'not_found'} end
  parent = cjson.decode(parent)
  if parent.kind ~= nil then return {epoch, 'e', 'not_found'} end
  root = parent.reply_to or parent.seq
end
B.seq = B.seq + 1
local seq = B.seq
if seq == 1 and rec then
  -- The counter is gone but the epoch is not: a new epoch, or seq 1 would be reused.
  epoch = renew(epoch, 'counter ' .. nonce)
  renewed = true
end
if renewed then redis.call('SET', KEYS[2], epoch .. ' ' .. nonce) end
local msg = ARGV[1] .. seq .. ARGV[2]
if root then msg = string.sub(msg, 1, -2) .. ',"reply_to":' .. root .. '}' end
local retain = tonumber(ARGV[3])
redis.call('XADD', KEYS[3], seq .. '-0', 'm', msg)
if retain > 0 then
  -- Trimmed to `retain` after the last post (batch.lua); v1.2: the entry that trims leaves
  -- the fold and edits hashes too.
  B.retain = retain
  if seq > retain then B.gone[#B.gone + 1] = seq - retain end
end
if window > 0 then B.remember(field, seq, window) end
if folded then apply_change(folded, target, seq, tonumber(ARGV[9])) end
if root then fold_reply(root, tonumber(ARGV[9])) end
if seq == 1 and ARGV[7] == '' then redis.call('ZADD', KEYS[5], 0, ARGV[5]) end
if ARGV[7] ~= '' then
  if redis.call('HSETNX', KEYS[6], 'a', ARGV[7]) == 1 then
    redis.call('HSET', KEYS[6], 'b', ARGV[8])
  end
  -- Each member's conversations by their last message's time: a page is read in the query.
  redis.call('ZADD', KEYS[7], ARGV[9], ARGV[5])
  redis.call('ZADD', KEYS[8], ARGV[9], ARGV[5])
end
return {epoch, '0', msg, seq}
