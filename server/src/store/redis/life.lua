-- Shared functions, prepended to every script that reads a room: see life.rs.
local function renew(a, b)
  return string.sub(redis.sha1hex(a .. '\n' .. b), 1, 32)
end
local function life(key)
  local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  local rec = redis.call('GET', key)
  if not rec then return nil, run, true end
  local r, n, d = string.match(rec, '^(%x+) (%x+) ([01])$')
  if not n then return renew(rec, run), run, true end
  if r == run then return n, run, false end
  if d == '1' then
    local p = redis.call('INFO', 'persistence')
    local rep = redis.call('INFO', 'replication')
    if string.find(p, 'aof_enabled:1', 1, true)
      and string.find(rep, 'master_replid2:' .. string.rep('0', 40), 1, true) then
      return n, run, true
    end
  end
  return renew(n, run), run, true
end
local function epoch_of(rec, room, nonce)
  if not rec then return renew('room ' .. room, nonce), true end
  local e, n = string.match(rec, '^(%x+) (%x+)$')
  if n == nonce then return e, false end
  return renew(e or rec, nonce), true
end
