-- The post script (after life.lua): see script.rs for its KEYS, ARGV and reply.
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
if ARGV[7] ~= '' then
  if redis.call('HSETNX', KEYS[6], 'a', ARGV[7]) == 1 then
    redis.call('HSET', KEYS[6], 'b', ARGV[8])
  end
  -- Each member's conversations by their last message's time: a page is read in the query.
  redis.call('ZADD', KEYS[7], ARGV[9], ARGV[5])
  redis.call('ZADD', KEYS[8], ARGV[9], ARGV[5])
end
-- The cluster's commit stream (commits.rs): every node's search index learns the room changed.
redis.call('XADD', 'banter:commits', 'MAXLEN', '~', 100000, '*', 'r', ARGV[5])
redis.call('PUBLISH', ARGV[6], epoch .. '\n' .. seq .. '\n' .. msg)
return {epoch, '0', msg}
