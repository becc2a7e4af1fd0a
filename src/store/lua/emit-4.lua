--[[
  Appends one upstream message to the events stream, only if the writer owns the listener at
  its current fence, and drops a message id already emitted for this listener within the
  dedup window.

  Dedup: a sorted set per listener, member = msg id, score = first emission time in
  microseconds of Redis TIME, forced strictly increasing per listener so that "lowest score"
  is "oldest emission" even within one millisecond. Scores older than the window are pruned
  first; the set is capped by evicting the lowest scores and expires one window after the
  last write.

  Input:
    KEYS[1] owners key  (prefix:listener_owners)
    KEYS[2] fences key  (prefix:listener_fences)
    KEYS[3] dedup key   (prefix:dedup:<listener id>), sorted set msg id -> microseconds
    KEYS[4] events key  (prefix:events), stream
    ARGV[1] listener id
    ARGV[2] writer's instance id
    ARGV[3] writer's fence
    ARGV[4] msg id ('' = no dedup)
    ARGV[5] payload
    ARGV[6] dedup window in milliseconds
    ARGV[7] dedup max entries per listener
    ARGV[8] events stream max length (approximate trim)

  Output:
    entry id (string)      emitted
    -8                     DUPLICATE: msg id already emitted within the window
    {-4, current fence}    STALE_FENCE: the writer is not the owner, or not at the current fence
]]
local fence = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] or fence ~= tonumber(ARGV[3]) then
  return {-4, fence}
end

if ARGV[4] ~= '' then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
  -- Lua would print large numbers as %.14g and lose digits: format integers explicitly.
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', now - tonumber(ARGV[6]) * 1000))
  if redis.call('ZSCORE', KEYS[3], ARGV[4]) then
    return -8
  end
  local last = redis.call('ZREVRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if last[2] and tonumber(last[2]) >= now then
    now = tonumber(last[2]) + 1
  end
  redis.call('ZADD', KEYS[3], string.format('%.0f', now), ARGV[4])
  local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[7])
  if excess > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end

return redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*',
  'listener_id', ARGV[1], 'msg_id', ARGV[4], 'fence', ARGV[3], 'owner', ARGV[2],
  'payload', ARGV[5])
