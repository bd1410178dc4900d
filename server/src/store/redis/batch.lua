-- Runs post_one (post.lua) once per post of the call, in order: one room's posts queued
-- together (see post.rs). The first post's KEYS and ARGV are laid out as for a call of its own;
-- ARGV[20] is the number of posts; post i > 1 has its dedupe key at KEYS[10 + i] and its
-- per-post arguments after ARGV[20]: a form, then its values. Form 'p' (a plain append: no
-- reply, no change to check) carries the slots of PLAIN; form 'f' every slot of PER_POST, in
-- that order. Before each post its values are put in the slots post_one reads (KEYS and ARGV
-- are this call's own tables).
-- Stored posts are published together, `epoch "\n" seq "\n" message` with more `"\n" seq "\n"
-- message` pairs (a message's JSON holds no raw newline), and the cluster's commit stream
-- (commits.rs: every node's search index learns the room changed) gets one entry per call.
-- Returns one {epoch, flag, JSON} per post; without a recorded life it refuses before any
-- write.
local PER_POST = {1, 2, 4, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
local PLAIN = {1, 2, 4, 9}
local n = tonumber(ARGV[20]) or 1
-- at[i]: the index of post i's first value; form[i]: the slots they fill.
local at, form = {}, {}
do
  local k = 21
  for i = 2, n do
    form[i] = ARGV[k] == 'p' and PLAIN or PER_POST
    at[i] = k + 1
    k = k + 1 + #form[i]
  end
end
-- The life, the room's epoch and its counter, in one command.
local got = redis.call('MGET', KEYS[9], KEYS[2], KEYS[1])
local life_rec = got[1]
local nonce = life_rec and string.match(life_rec, '^%x+ (%x+) [01]$')
if not nonce then return redis.error_reply('banter: no life recorded: refresh first') end
local rec = got[2] or nil
-- The room's epoch; `renewed` until a post stored it (post.lua writes it with its post).
local epoch, renewed = epoch_of(rec, ARGV[5], nonce)
B.load(n, tonumber(got[3] or '0'), function(i)
  if i == 1 then return tonumber(ARGV[4]) end
  return tonumber(ARGV[at[i] + 2])
end)
local seq_before = B.seq
local replies, lines, pub_epoch = {}, {}, nil
local function publish()
  if #lines > 0 then
    redis.call('PUBLISH', ARGV[6], pub_epoch .. '\n' .. table.concat(lines, '\n'))
    lines = {}
  end
end
-- A script's writes are not undone when it fails: what the posts before a failure stored
-- is kept, so the counter, the trim and the dedupe keys are written whatever happened.
local ok, err = pcall(function()
  for i = 1, n do
    if i > 1 then
      KEYS[4] = KEYS[10 + i]
      for j, slot in ipairs(form[i]) do ARGV[slot] = ARGV[at[i] + j - 1] end
      if form[i] == PLAIN then ARGV[10], ARGV[11] = '', '0' end
    end
    local r = post_one(epoch, renewed, nonce, rec)
    epoch = r[1]
    if r[4] then
      renewed = false
      if r[1] ~= pub_epoch then
        publish()
        pub_epoch = r[1]
      end
      lines[#lines + 1] = r[4] .. '\n' .. r[3]
    end
    replies[i] = {r[1], r[2], r[3]}
  end
end)
B.flush(seq_before)
if not ok then error(err) end
if pub_epoch then
  publish()
  redis.call('XADD', 'banter:commits', 'MAXLEN', '~', 100000, '*', 'r', ARGV[5])
end
return replies
