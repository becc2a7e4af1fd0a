--[[
  Appends upstream messages to the events stream, in order, each only if its writer owns the
  listener at the listener's current fence, and drops a message id already emitted for that
  listener within the dedup window. One script for a batch of messages (of any listeners).

  Dedup: a sorted set per listener, member = msg id, score = first emission time in
  microseconds of Redis TIME, kept increasing per listener so that "lowest score" is "oldest
  emission" even within one microsecond. Scores older than the window are pruned first; the set
  is capped by evicting the lowest scores and expires one window after the last write.

  Messages come in groups: consecutive messages of one listener by one writer at one fence and
  encoding (a listener's run), sent once per group with its messages' ids and payloads after it.
  Owner and fence are read once per group and the window pruned once per group. Then every id is
  added with one ZADD NX; when it added them all (none was in the window, none repeats in the
  group: the common case) one ZREMRANGEBYRANK applies the cap, which leaves the set exactly as
  adding them one by one would, and one PEXPIRE renews the window. Otherwise the ZADD is taken
  back (ZMSCORE, ZREM) and each id is checked and inserted on its own (ZADD NX, whose count says
  whether it was new, evicting at the cap as it goes). Then one XADD per message, and one XTRIM
  per script: 6 calls per group plus 1 per message on the common path, 5 when the prune made
  room for what was added.

  Input:
    KEYS[1] owners key  (prefix:listener_owners)
    KEYS[2] fences key  (prefix:listener_fences)
    KEYS[3] events key  (prefix:events), stream
    KEYS[3+g] dedup key of group g (prefix:dedup:<listener id>), sorted set msg id -> microseconds
    ARGV[1] dedup window in milliseconds
    ARGV[2] dedup max entries per listener
    ARGV[3] events stream max length (approximate trim)
    then per group g: listener id, writer's instance id, writer's fence, encoding ('' = text;
      'base64' is written as field `encoding`), message count n, then n pairs: msg id ('' = no
      dedup), payload

  Output: an array, one entry per message in input order, its refusals in the order of the
  checks of src/store/spec.ts (emitMany):
    entry id (string)      emitted
    {-4, current fence}    STALE_FENCE: the writer is not the owner, or not at the current fence
    -8                     DUPLICATE: msg id already emitted within the window

  The stream keeps at least the newest ARGV[3] entries (XTRIM MAXLEN ~ trims whole nodes only).
]]
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000000 + tonumber(time[2])
local window = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local events = KEYS[3]
-- Lua would print large numbers as %.14g and lose digits: format integers explicitly.
local oldest = string.format('%.0f', clock - window * 1000)
-- Most ids handed to one ZADD / ZMSCORE (unpack's stack); a larger group takes the exact path.
local FAST_MAX = 1000
local out = {}
local n_out = 0
local wrote = false
-- Scores handed out so far in this script, above `clock` (see add_all).
local seq = 0

-- The newest score and the size of a pruned window (the exact path only).
local function window_edge(dedup)
  local newest = redis.call('ZREVRANGE', dedup, 0, 0, 'WITHSCORES')
  return newest[2] and tonumber(newest[2]) or nil, redis.call('ZCARD', dedup)
end

-- The next score after `last` (strictly increasing, never below Redis TIME).
local function next_score(last)
  if last and last >= clock then return last + 1 end
  return clock
end

-- Fast path: adds every id of the group at once with ZADD NX and true if each was new (none in
-- the window, none twice in the group); else takes back what it added (the ids whose score is
-- the one given here) and returns false, leaving the window as it was.
-- Scores are Redis TIME plus the message's position in this script: a script spends more than a
-- microsecond on each message it writes, so they keep increasing across scripts as long as
-- Redis's clock does (the exact path below guards against a clock that went back).
local function add_all(dedup, ids)
  if #ids > FAST_MAX then return false end
  local zargs = {}
  for k, msg in ipairs(ids) do
    zargs[2 * k - 1] = string.format('%.0f', clock + seq + k)
    zargs[2 * k] = msg
  end
  if redis.call('ZADD', dedup, 'NX', unpack(zargs)) == #ids then
    seq = seq + #ids
    return true
  end
  local scores = redis.call('ZMSCORE', dedup, unpack(ids))
  local ours = {}
  for k = 1, #ids do
    if scores[k] and tonumber(scores[k]) == clock + seq + k then ours[#ours + 1] = ids[k] end
  end
  if #ours > 0 then redis.call('ZREM', dedup, unpack(ours)) end
  return false
end

-- Exact path: each id checked and inserted on its own (ZADD NX, whose count says whether it was
-- new), evicting at the cap as it goes. Returns a table msg index -> true for the duplicates,
-- and whether any id was added.
local function add_each(dedup, base, n)
  local dup = {}
  local last, size = window_edge(dedup)
  local added = false
  for j = 1, n do
    local msg = ARGV[base + 2 * j - 1]
    if msg ~= '' then
      local now = next_score(last)
      if redis.call('ZADD', dedup, 'NX', string.format('%.0f', now), msg) == 0 then
        dup[j] = true
      else
        last, size, added = now, size + 1, true
        if size > cap then
          redis.call('ZREMRANGEBYRANK', dedup, 0, size - cap - 1)
          size = cap
        end
      end
    end
  end
  if last and last >= clock + seq then seq = last - clock end
  return dup, added
end

-- Dedup of one group: a table msg index -> true for the duplicates; remembers the others' ids.
local function dedup_group(dedup, base, n)
  local ids = {}
  local first = nil
  for j = 1, n do
    local msg = ARGV[base + 2 * j - 1]
    if msg ~= '' then
      ids[#ids + 1] = msg
      first = first or j
    end
  end
  if #ids == 0 then return {} end
  local pruned = redis.call('ZREMRANGEBYSCORE', dedup, '-inf', oldest)
  local dup = {}
  if #ids == 1 then
    -- A lone id: its ZADD NX alone says new or duplicate, and a duplicate changes nothing.
    seq = seq + 1
    if redis.call('ZADD', dedup, 'NX', string.format('%.0f', clock + seq), ids[1]) == 0 then
      dup[first] = true
      return dup
    end
  elseif not add_all(dedup, ids) then
    -- add_each applies the cap itself, id by id.
    local added
    dup, added = add_each(dedup, base, n)
    if not added then return dup end
    redis.call('PEXPIRE', dedup, window)
    return dup
  end
  -- The window was within the cap before this group: it can be over it only if more came than
  -- the prune took (a cap lowered since is applied by the next group that adds more).
  if #ids > pruned then redis.call('ZREMRANGEBYRANK', dedup, 0, -cap - 1) end
  redis.call('PEXPIRE', dedup, window)
  return dup
end

local a = 4
local g = 0
while a <= #ARGV do
  g = g + 1
  local id, owner, fence, encoding = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local n = tonumber(ARGV[a + 4])
  local base = a + 4
  local current = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  if redis.call('HGET', KEYS[1], id) == owner and current == tonumber(fence) then
    local dup = dedup_group(KEYS[3 + g], base, n)
    for j = 1, n do
      n_out = n_out + 1
      local msg, payload = ARGV[base + 2 * j - 1], ARGV[base + 2 * j]
      if dup[j] then
        out[n_out] = -8
      elseif encoding ~= '' then
        out[n_out] = redis.call('XADD', events, '*', 'listener_id', id, 'msg_id', msg,
          'fence', fence, 'owner', owner, 'payload', payload, 'encoding', encoding)
      else
        out[n_out] = redis.call('XADD', events, '*', 'listener_id', id, 'msg_id', msg,
          'fence', fence, 'owner', owner, 'payload', payload)
      end
      wrote = wrote or not dup[j]
    end
  else
    for _ = 1, n do
      n_out = n_out + 1
      out[n_out] = {-4, current}
    end
  end
  a = base + 2 * n + 1
end
if wrote then redis.call('XTRIM', events, 'MAXLEN', '~', ARGV[3]) end
return out
