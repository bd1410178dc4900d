-- v1.2 message lifecycle, prepended to the post script (see script.rs). KEYS[10] is the
-- room's fold hash (seq -> the entry's current JSON, when it changed since it was stored: a
-- message folded, an edit erased), KEYS[11] its edits hash (target -> edit count, and
-- target..':s' -> the seqs of its edit and reaction entries, to erase on deletion). ARGV[10] mode ('', 'reply', 'change'), [11] the
-- target (or parent), [12] kind, [13] user, [14] emoji, [15] an edit's text, [16] the most
-- edits, [17] the most reactions, [18] '1' when the user may delete anyone's message.
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
-- Folds the stored change `seq` into its target `t` (as entry::fold does).
local function apply_change(t, target, seq, ts)
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
    -- Erase the text of the target's edit entries and the emoji of its reactions too.
    for s in string.gmatch(redis.call('HGET', KEYS[11], target .. ':s') or '', '(%d+),') do
      local e = current_of(s)
      if e then
        local c = cjson.decode(e)
        c.text = nil
        c.emoji = nil
        redis.call('HSET', KEYS[10], s, encode(c))
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
