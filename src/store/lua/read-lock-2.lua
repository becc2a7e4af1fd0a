--[[
  Reads the leader lock's holder, the current epoch and the lock's remaining TTL in one snapshot.

  Input:
    KEYS[1] lock key   (prefix:consumer_lock)
    KEYS[2] epoch key  (prefix:consumer_lock:epoch)

  Output:
    {holder or nil, epoch (0 if never acquired), ttl in ms (-1 when nobody holds the lock)}

  Refusals: none.
]]
local holder = redis.call('GET', KEYS[1])
local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
local ttl = -1
if holder then
  ttl = redis.call('PTTL', KEYS[1])
end
return {holder, epoch, ttl}
