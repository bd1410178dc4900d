-- The read script: see script.rs for its KEYS, ARGV and reply.
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local oldest = head + 1
local first = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)
if #first > 0 then oldest = tonumber(string.match(first[1][1], '^%d+')) end
local out = {epoch, tostring(head), tostring(oldest)}
local bound = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local entries = {}
if ARGV[2] == 'after' and limit > 0 then
  entries = redis.call('XRANGE', KEYS[3], (bound + 1) .. '-0', '+', 'COUNT', limit)
elseif ARGV[2] == 'before' and limit > 0 and bound > 1 then
  entries = redis.call('XREVRANGE', KEYS[3], (bound - 1) .. '-0', '-', 'COUNT', limit)
end
for i = 1, #entries do out[#out + 1] = entries[i][2][2] end
return out
