--[[
  Writes listeners' status JSON, in order, each unless it was written under a fence older than
  the listener's current fence (a deposed owner cannot overwrite its successor's status).

  Input:
    KEYS[1] fences key  (prefix:listener_fences)
    KEYS[2] status key  (prefix:listener_status), hash listener id -> status JSON
    then 3 arguments per status: listener id, fence it was written under, status JSON

  Output: an array, one entry per status, refusals in the order of
  the checks of src/store/spec.ts (writeStatuses):
    0    written
    -4   STALE_FENCE: the fence is older than the listener's current fence
]]
local out = {}
for a = 1, #ARGV, 3 do
  local id = ARGV[a]
  if tonumber(ARGV[a + 1]) < tonumber(redis.call('HGET', KEYS[1], id) or '0') then
    out[#out + 1] = -4
  else
    redis.call('HSET', KEYS[2], id, ARGV[a + 2])
    out[#out + 1] = 0
  end
end
return out
