-- v1.2 message lifecycle, prepended to the post script (see script.rs). KEYS[10] is the
-- room's fold hash (seq -> the entry's current JSON, when it changed since it was stored: a
-- message folded, an edit erased), KEYS[11] its edits hash (target -> edit count, and
-- target..':s' -> the seqs of its edit and reaction entries, to erase on deletion). ARGV[10] mode ('', 'reply', 'change'), [11] the
-- target (or parent), [12] kind, [13] user, [14] emoji, [15] an edit's text, [16] the most
-- edits, [17] the most reactions, [18] '1' when the user may delete anyone's message, [19] the
-- most entries a stream node holds (0: unknown; see erase_stream).
local function current_of(s)
  local j = redis.call('HGET', KEYS[10], s)
  if j then return j end
  local e = redis.call('XRANGE', KEYS[3], s .. '-0', s .. '-0')
  if #e == 0 then return nil end
  return e[1][2][2]
end
local function encode(t)
  if t.reactions and #t.reactions == 0 then t.reactions = nil end
  return cjson.encode(t)
end
-- The target's decoded state, or a refusal ('noop' with the current JSON: nothing to store).
local function check_change(target)
  local j = current_of(target)
  if not j then return nil, 'not_found' end
  local t = cjson.decode(j)
  if t.kind ~= nil or t.deleted then return nil, 'not_found' end
  local kind, user, emoji = ARGV[12], ARGV[13], ARGV[14]
  if kind == 'edit' then
    if t.user ~= user then return nil, 'forbidden_edit' end
    local n = tonumber(redis.call('HGET', KEYS[11], target) or '0')
    if n >= tonumber(ARGV[16]) then return nil, 'limit_edits' end
  elseif kind == 'delete' then
    if t.user ~= user and ARGV[18] ~= '1' then return nil, 'forbidden_delete' end
  else
    local count, given = 0, false
    for _, r in ipairs(t.reactions or {}) do
      count = count + #r.users
      if r.emoji == emoji then
        for _, u in ipairs(r.users) do if u == user then given = true end end
      end
    end
    if kind == 'react' and given then return nil, 'noop', j end
    if kind == 'unreact' and not given then return nil, 'noop', j end
    if kind == 'react' and count >= tonumber(ARGV[17]) then return nil, 'limit_reactions' end
  end
  return t
end
-- Calls `each(page)` on the room's stream's entries from `from` on, a page at a time.
local function pages_from(from, each)
  while true do
    local page = redis.call('XRANGE', KEYS[3], from, '+', 'COUNT', 1000)
    if #page > 0 then each(page) end
    if #page < 1000 then return end
    from = (tonumber(string.match(page[#page][1], '^%d+')) + 1) .. '-0'
  end
end
-- Adds `page`'s entries to `into` under their ids, those in `erased` as their fold.
local function add_erased(into, page, erased)
  for i = 1, #page do
    local id = page[i][1]
    local s = string.match(id, '^%d+')
    local json = page[i][2][2]
    if erased[s] then json = redis.call('HGET', KEYS[10], s) or json end
    redis.call('XADD', into, id, 'm', json)
  end
end
-- The longest end of a stream rewritten in place (held in the script's memory meanwhile).
local MAX_TAIL = 10000
-- Erases the bytes of the stream's entries in `erased` (seq -> true) by writing their fold
-- (the tombstone, the erased edits and reactions) in their place. XDEL only flags an entry: its
-- bytes stay in its node (a listpack of at most ARGV[19] entries, stream-node-max-entries) until
-- every entry of that node is deleted. So with a bound, every entry from `bound` before the
-- target on is deleted (which frees the target's node and every later one), the stream's last
-- id is set back (XSETID) and the entries are added again under their own ids: O(the bound +
-- the entries since the target). Without one (0: unknown, or not supported by this Redis), or
-- when that end is over half the stream (deleting an entry costs more than copying it) or over
-- MAX_TAIL, the whole stream is copied, a page at a time, to a new key renamed over it.
-- See docs/guarantees.md.
local function erase_stream(erased, target, head)
  local bound = tonumber(ARGV[19]) or 0
  local tail = head - target + bound
  if tail > MAX_TAIL or 2 * tail > redis.call('XLEN', KEYS[3]) then bound = 0 end
  if bound == 0 then
    local into = KEYS[3] .. ':erase'
    redis.call('DEL', into)
    pages_from('-', function(page) add_erased(into, page, erased) end)
    redis.call('RENAME', into, KEYS[3])
    return
  end
  local all = {}
  pages_from(math.max(target - bound, 0) .. '-0', function(page)
    local ids = {}
    for i = 1, #page do
      all[#all + 1] = page[i]
      ids[i] = page[i][1]
    end
    redis.call('XDEL', KEYS[3], unpack(ids))
  end)
  if #all == 0 then return end
  redis.call('XSETID', KEYS[3], (tonumber(string.match(all[1][1], '^%d+')) - 1) .. '-0')
  add_erased(KEYS[3], all, erased)
end
-- Folds the stored change `seq` into its target `t` (as entry::fold does).
local function apply_change(t, target, seq, ts)
  local erased = {}
  local kind, user, emoji = ARGV[12], ARGV[13], ARGV[14]
  if kind == 'edit' then
    t.text = ARGV[15]
    t.edited_ts = ts
    redis.call('HINCRBY', KEYS[11], target, 1)
  elseif kind == 'delete' then
    t.deleted = true
    t.text = ''
    t.reactions = nil
    t.files = nil
    -- Erase the text of the target's edit entries and the emoji of its reactions too; the
    -- stream itself is rewritten below (erase_stream), once the tombstone is in the fold.
    erased[tostring(target)] = true
    for s in string.gmatch(redis.call('HGET', KEYS[11], target .. ':s') or '', '(%d+),') do
      local e = current_of(s)
      if e then
        local c = cjson.decode(e)
        c.text = nil
        c.emoji = nil
        redis.call('HSET', KEYS[10], s, encode(c))
        erased[s] = true
      end
    end
  elseif kind == 'react' then
    local found = false
    for _, r in ipairs(t.reactions or {}) do
      if r.emoji == emoji then r.users[#r.users + 1] = user; found = true end
    end
    if not found then
      t.reactions = t.reactions or {}
      t.reactions[#t.reactions + 1] = {emoji = emoji, users = {user}}
    end
  else
    local kept = {}
    for _, r in ipairs(t.reactions or {}) do
      if r.emoji == emoji then
        local users = {}
        for _, u in ipairs(r.users) do if u ~= user then users[#users + 1] = u end end
        r.users = users
      end
      if #r.users > 0 then kept[#kept + 1] = r end
    end
    t.reactions = kept
  end
  if kind ~= 'delete' then
    redis.call('HSET', KEYS[11], target .. ':s',
      (redis.call('HGET', KEYS[11], target .. ':s') or '') .. seq .. ',')
  end
  redis.call('HSET', KEYS[10], target, encode(t))
  if kind == 'delete' then erase_stream(erased, target, seq) end
end
-- Counts a reply on its thread's root (as entry::fold_reply does).
local function fold_reply(root, ts)
  local j = current_of(root)
  if not j then return end
  local t = cjson.decode(j)
  t.replies = (t.replies or 0) + 1
  t.last_reply_ts = math.max(t.last_reply_ts or 0, ts)
  redis.call('HSET', KEYS[10], root, encode(t))
end
