--[[
  Deletes the leader lock, only for the instance that holds it at the epoch it names
  (compare-and-delete: never a blind DEL). The epoch counter is kept.

  Input:
    KEYS[1] lock key   (prefix:consumer_lock)
    KEYS[2] epoch key  (prefix:consumer_lock:epoch)
    ARGV[1] instance id
    ARGV[2] epoch the caller believes it holds

  Output (refusals in the order of the checks of src/store/spec.ts, releaseLock):
    0    released
    -1   NOT_HOLDER: the lock is free or held by another instance
    -2   STALE_EPOCH: ARGV[1] holds the lock, but at another epoch
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[2]) then
  return -2
end
redis.call('DEL', KEYS[1])
return 0
