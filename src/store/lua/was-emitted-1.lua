--[[
  Tells whether a msg id was emitted for a listener within the dedup window: the check that
  claim-listeners-n.lua makes for an overlap claim, on its own. Uses the same clock as
  emit-n.lua: Redis TIME in microseconds. Writes nothing.

  Input:
    KEYS[1] dedup key  (prefix:dedup:<listener id>), sorted set msg id -> microseconds
    ARGV[1] msg id
    ARGV[2] dedup window in milliseconds

  Output:
    1    emitted within the window (and not evicted by the dedup cap)
    0    not

  Refusals: none.
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then
  return 0
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
if tonumber(score) > now - tonumber(ARGV[2]) * 1000 then
  return 1
end
return 0
