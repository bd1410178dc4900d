-- What the posts of one call share (see batch.lua): the dedupe keys read before the first post
-- and remembered after the last, the room's counter read once and written once, the entries
-- the stream's trim leaves behind. One post's command each would cost most of Redis's time
-- per message: a `redis.call` is several microseconds whatever it does.
--
-- Dedupe keys live in hashes of time buckets as long as the window: `PREFIX:ddb:W:N` holds
-- the keys remembered during the N-th window of W ms (Redis's clock), field = the key, value =
-- the entry's seq, and expires at the end of window N + 1. A key is looked up in the current
-- bucket and the one before, so it is remembered for at least the window and at most twice
-- it. Nodes must share `--dedupe-window` (it is in the bucket's name). Keys of the older
-- layout (one string key each, `PREFIX:dd:KEY`, with PX) are still read.
local B = {seen = {}, fresh = {}, gone = {}, seq = 0, retain = nil}
local room_prefix = string.sub(KEYS[1], 1, -5)
local dd_prefix = room_prefix .. ':dd:'
function B.field(key)
  return string.sub(key, #dd_prefix + 1)
end
local function bucket(window, n)
  return room_prefix .. ':ddb:' .. window .. ':' .. n
end
-- Takes the room's counter (`seq`, read by batch.lua) and reads every post's dedupe key (posts
-- `1..n`; post i's key is KEYS[4] for the first, else KEYS[10 + i]; its window is ARGV[4] for
-- the first, else its per-post slot).
function B.load(n, seq, window_of)
  local window = 0
  local keys, fields = {}, {}
  for i = 1, n do
    local w = window_of(i)
    if w > 0 then
      window = w
      local key = i == 1 and KEYS[4] or KEYS[10 + i]
      keys[#keys + 1] = key
      fields[#fields + 1] = B.field(key)
    end
  end
  B.seq = seq
  if #keys == 0 then return end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  B.window, B.n = window, math.floor(now / window)
  local legacy = redis.call('MGET', unpack(keys))
  local prev = redis.call('HMGET', bucket(window, B.n - 1), unpack(fields))
  local cur = redis.call('HMGET', bucket(window, B.n), unpack(fields))
  for j, f in ipairs(fields) do
    B.seen[f] = cur[j] or prev[j] or legacy[j] or nil
  end
end
function B.remember(field, seq, window)
  B.seen[field] = tostring(seq)
  B.fresh[#B.fresh + 1] = field
  B.fresh[#B.fresh + 1] = seq
end
-- Writes what the posts left: the counter, the trim, the dedupe keys.
function B.flush(seq_before)
  if B.seq ~= seq_before then redis.call('SET', KEYS[1], B.seq) end
  if B.retain then
    redis.call('XTRIM', KEYS[3], 'MAXLEN', B.retain)
    if #B.gone > 0 then
      redis.call('HDEL', KEYS[10], unpack(B.gone))
      local edits = {}
      for _, g in ipairs(B.gone) do
        edits[#edits + 1] = g
        edits[#edits + 1] = g .. ':s'
      end
      redis.call('HDEL', KEYS[11], unpack(edits))
    end
  end
  if #B.fresh > 0 then
    local key = bucket(B.window, B.n)
    redis.call('HSET', key, unpack(B.fresh))
    redis.call('PEXPIREAT', key, (B.n + 2) * B.window)
  end
end
