-- The post script: see script.rs for its KEYS, ARGV and reply.
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local window = tonumber(ARGV[5])
if window > 0 then
  local seen = redis.call('GET', KEYS[4])
  if seen then return {epoch, '1', seen} end
end
local seq = redis.call('INCR', KEYS[1])
local msg = ARGV[2] .. seq .. ARGV[3]
local retain = tonumber(ARGV[4])
if retain > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', retain, seq .. '-0', 'm', msg)
else
  redis.call('XADD', KEYS[3], seq .. '-0', 'm', msg)
end
if window > 0 then redis.call('SET', KEYS[4], msg, 'PX', window) end
if seq == 1 and ARGV[8] == '' then redis.call('ZADD', KEYS[5], 0, ARGV[6]) end
if ARGV[8] ~= '' and redis.call('HSETNX', KEYS[6], 'a', ARGV[8]) == 1 then
  redis.call('HSET', KEYS[6], 'b', ARGV[9])
  redis.call('SADD', KEYS[7], ARGV[6])
  redis.call('SADD', KEYS[8], ARGV[6])
end
redis.call('PUBLISH', ARGV[7], epoch .. '\n' .. seq .. '\n' .. msg)
return {epoch, '0', msg}
