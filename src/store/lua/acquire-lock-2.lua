--[[
  Acquires the leader lock for an instance, or refreshes it when that instance already holds it.
  A new acquisition increments the epoch (the fencing token of the leadership); re-acquiring
  one's own live lock keeps the epoch and resets the TTL.

  Input:
    KEYS[1] lock key   (prefix:consumer_lock), string, value = holder's instance id
    KEYS[2] epoch key  (prefix:consumer_lock:epoch), counter
    ARGV[1] instance id
    ARGV[2] TTL in milliseconds (positive integer)

  Output (refusals in the order of the checks of src/store/spec.ts, acquireLock):
    epoch (integer >= 1)   ARGV[1] holds the lock at this epoch
    {-7, holder, ttl}      HELD: another instance holds the lock for ttl more milliseconds
]]
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {-7, holder, redis.call('PTTL', KEYS[1])}
end
local epoch
if holder then
  -- Same holder, still live: same leadership, so the same epoch.
  epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
else
  epoch = redis.call('INCR', KEYS[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return epoch
