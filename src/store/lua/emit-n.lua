--[[
  Appends upstream messages to the events stream, in order, each only if its writer owns the
  listener at the listener's current fence, and drops a message id already emitted for that
  listener within the dedup window. One script for a batch of messages (of any listeners).

  Dedup: a sorted set per listener, member = msg id, score = first emission time in
  microseconds of Redis TIME, forced strictly increasing per listener so that "lowest score"
  is "oldest emission" even within one millisecond. Scores older than the window are pruned
  first; the set is capped by evicting the lowest scores and expires one window after the
  last write.

  Messages come in groups: consecutive messages of one listener by one writer at one fence (a
  listener's run). Owner and fence are read once per group, the window is pruned, its newest
  score and size read once per group, and each message then costs a check-and-insert (ZADD NX,
  whose count says whether the id was new), the XADD, and an eviction only once the window is at
  its cap: 2-3 calls per message plus 6 per group, with the per-message semantics unchanged.

  Input:
    KEYS[1] owners key  (prefix:listener_owners)
    KEYS[2] fences key  (prefix:listener_fences)
    KEYS[3] events key  (prefix:events), stream
    KEYS[3+i] dedup key of message i (prefix:dedup:<listener id>), sorted set msg id -> microseconds
    ARGV[1] dedup window in milliseconds
    ARGV[2] dedup max entries per listener
    ARGV[3] events stream max length (approximate trim)
    then 6 arguments per message i: listener id, writer's instance id, writer's fence,
      msg id ('' = no dedup), payload, encoding ('' = text; 'base64' is written as field `encoding`)

  Output: an array, one entry per message, its refusals in the order of the checks of
  src/store/spec.ts (emitMany):
    entry id (string)      emitted
    {-4, current fence}    STALE_FENCE: the writer is not the owner, or not at the current fence
    -8                     DUPLICATE: msg id already emitted within the window

  The stream keeps at least the newest ARGV[3] entries (XADD MAXLEN ~ trims whole nodes only).
]]
local time = redis.call('TIME')
local clock = tonumber(time[1]) * 1000000 + tonumber(time[2])
local window = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
-- Lua would print large numbers as %.14g and lose digits: format integers explicitly.
local oldest = string.format('%.0f', clock - window * 1000)
local out = {}

-- The current group: its listener, writer and fence, whether it may write, and its window.
local gid, gowner, gfence, gok, gcurrent
local gdedup, opened, added, last, size

local function close_group()
  if added then
    redis.call('PEXPIRE', gdedup, window)
  end
end

-- The window, pruned, with its newest score and its size (once per group, on its first id).
local function open_window()
  opened = true
  redis.call('ZREMRANGEBYSCORE', gdedup, '-inf', oldest)
  local newest = redis.call('ZREVRANGE', gdedup, 0, 0, 'WITHSCORES')
  last = newest[2] and tonumber(newest[2]) or nil
  size = redis.call('ZCARD', gdedup)
end

-- Check-and-insert: false if msg is already in the window; scores strictly increase.
local function remember(msg)
  if not opened then open_window() end
  local now = clock
  if last and last >= now then
    now = last + 1
  end
  if redis.call('ZADD', gdedup, 'NX', string.format('%.0f', now), msg) == 0 then
    return false
  end
  last, added, size = now, true, size + 1
  if size > cap then
    redis.call('ZREMRANGEBYRANK', gdedup, 0, size - cap - 1)
    size = cap
  end
  return true
end

for i = 1, #KEYS - 3 do
  local a = 4 + (i - 1) * 6
  local id, owner, fence, msg = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  if id ~= gid or owner ~= gowner or fence ~= gfence then
    close_group()
    gid, gowner, gfence, gdedup = id, owner, fence, KEYS[3 + i]
    opened, added = false, false
    gcurrent = tonumber(redis.call('HGET', KEYS[2], id) or '0')
    gok = redis.call('HGET', KEYS[1], id) == owner and gcurrent == tonumber(fence)
  end
  if not gok then
    out[i] = {-4, gcurrent}
  elseif msg ~= '' and not remember(msg) then
    out[i] = -8
  elseif ARGV[a + 5] ~= '' then
    out[i] = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'listener_id', id,
      'msg_id', msg, 'fence', fence, 'owner', owner, 'payload', ARGV[a + 4], 'encoding', ARGV[a + 5])
  else
    out[i] = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*',
      'listener_id', id, 'msg_id', msg, 'fence', fence, 'owner', owner, 'payload', ARGV[a + 4])
  end
end
close_group()
return out
