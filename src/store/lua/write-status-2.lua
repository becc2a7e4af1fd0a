--[[
  Writes a listener's status JSON, unless it was written under a fence older than the
  listener's current fence (a deposed owner cannot overwrite its successor's status).

  Input:
    KEYS[1] fences key  (prefix:listener_fences)
    KEYS[2] status key  (prefix:listener_status), hash listener id -> status JSON
    ARGV[1] listener id
    ARGV[2] fence the status was written under
    ARGV[3] status JSON

  Output:
    0    written
    -4   STALE_FENCE: ARGV[2] is older than the current fence
]]
if tonumber(ARGV[2]) < tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  return -4
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 0
