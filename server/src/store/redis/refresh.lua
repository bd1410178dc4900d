-- The refresh script (after life.lua): see life.rs for its KEYS, ARGV and reply.
local nonce, run, stale = life(KEYS[1])
nonce = nonce or ARGV[1]
local rec = run .. ' ' .. nonce .. ' ' .. ARGV[2]
if stale or redis.call('GET', KEYS[1]) ~= rec then redis.call('SET', KEYS[1], rec) end
return nonce
