--[[
  Appends upstream messages to the events stream, in order, each only if its writer owns the
  listener at the listener's current fence, and drops a message id already emitted for that
  listener within the dedup window. One script for a batch of messages (of any listeners).

  Dedup: a sorted set per listener, member = msg id, score = first emission time in
  microseconds of Redis TIME, forced strictly increasing per listener so that "lowest score"
  is "oldest emission" even within one millisecond. Scores older than the window are pruned
  first; the set is capped by evicting the lowest scores and expires one window after the
  last write.

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
local out = {}

local function emit(dedup, a)
  local id, owner, fence, msg = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local current = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  if redis.call('HGET', KEYS[1], id) ~= owner or current ~= tonumber(fence) then
    return {-4, current}
  end
  if msg ~= '' then
    local now = clock
    -- Lua would print large numbers as %.14g and lose digits: format integers explicitly.
    redis.call('ZREMRANGEBYSCORE', dedup, '-inf', string.format('%.0f', now - window * 1000))
    if redis.call('ZSCORE', dedup, msg) then
      return -8
    end
    local last = redis.call('ZREVRANGE', dedup, 0, 0, 'WITHSCORES')
    if last[2] and tonumber(last[2]) >= now then
      now = tonumber(last[2]) + 1
    end
    redis.call('ZADD', dedup, string.format('%.0f', now), msg)
    local excess = redis.call('ZCARD', dedup) - cap
    if excess > 0 then
      redis.call('ZREMRANGEBYRANK', dedup, 0, excess - 1)
    end
    redis.call('PEXPIRE', dedup, window)
  end
  if ARGV[a + 5] ~= '' then
    return redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'listener_id', id,
      'msg_id', msg, 'fence', fence, 'owner', owner, 'payload', ARGV[a + 4], 'encoding', ARGV[a + 5])
  end
  return redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*',
    'listener_id', id, 'msg_id', msg, 'fence', fence, 'owner', owner, 'payload', ARGV[a + 4])
end

for i = 1, #KEYS - 3 do
  out[i] = emit(KEYS[3 + i], 4 + (i - 1) * 6)
end
return out
