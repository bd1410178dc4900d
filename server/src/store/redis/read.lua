-- The read script (after life.lua): see script.rs for its KEYS, ARGV and reply.
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
-- v1.2: an entry changed since it was stored is read in its current state.
local folded = redis.call('EXISTS', KEYS[5]) == 1
for i = 1, #entries do
  local json = entries[i][2][2]
  if folded then
    json = redis.call('HGET', KEYS[5], string.match(entries[i][1], '^%d+')) or json
  end
  out[#out + 1] = json
end
return out
