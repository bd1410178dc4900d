-- The post script's body for one post (after life.lua and lifecycle.lua, wrapped in
-- post_one(epoch, renewed, nonce, rec) and run once per post by batch.lua, which reads the
-- life and the room's epoch once per call): see script.rs for its KEYS, ARGV and reply. A
-- stored post's reply also carries its seq, for batch.lua's PUBLISH.
local window = tonumber(ARGV[4])
if window > 0 then
  -- The dedupe key holds the entry's seq (not its bytes, so that a deletion erases nothing
  -- there): a re-send gets the entry as it is now (a tombstone once deleted). One trimmed away
  -- is stored anew, as with SQLite. A key of an older version holds the JSON itself.
  local seen = redis.call('GET', KEYS[4])
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
local seq = redis.call('INCR', KEYS[1])
if seq == 1 and rec then
  -- The counter is gone but the epoch is not: a new epoch, or seq 1 would be reused.
  epoch = renew(epoch, 'counter ' .. nonce)
  renewed = true
end
if renewed then redis.call('SET', KEYS[2], epoch .. ' ' .. nonce) end
local msg = ARGV[1] .. seq .. ARGV[2]
if root then msg = string.sub(msg, 1, -2) .. ',"reply_to":' .. root .. '}' end
local retain = tonumber(ARGV[3])
if retain > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', retain, seq .. '-0', 'm', msg)
  -- v1.2: the entry this trimmed leaves the fold and edits hashes too.
  if seq > retain then
    local gone = seq - retain
    redis.call('HDEL', KEYS[10], gone)
    redis.call('HDEL', KEYS[11], gone, gone .. ':s')
  end
else
  redis.call('XADD', KEYS[3], seq .. '-0', 'm', msg)
end
if window > 0 then redis.call('SET', KEYS[4], seq, 'PX', window) end
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
