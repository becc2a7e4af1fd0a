--[[
  Crash failover: takes the leader lock from a holder whose presence is gone, without waiting for
  its TTL. Runs on the node that holds the lock (the presence channel carries the prefix's hash
  tag), so PUBSUB sees the holder's subscriber connection as Redis does right now.

  Input:
    KEYS[1] lock key   (prefix:consumer_lock)
    KEYS[2] epoch key  (prefix:consumer_lock:epoch)
    ARGV[1] the caller (new holder)
    ARGV[2] the holder to depose
    ARGV[3] TTL in ms
    ARGV[4] the holder's presence channel (prefix:presence:<holder>)
    ARGV[5] '1' on Redis Cluster (sharded channel: PUBSUB SHARDNUMSUB), else '0'

  Output (refusals in the order of the checks of src/store/spec.ts, deposeLock):
    N    the new epoch (positive)
    -1   NOT_HOLDER: ARGV[2] does not hold the lock (free, expired, another)
    -12  PRESENT: ARGV[2]'s presence channel has a subscriber
]]
if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return -1
end
local sub = 'NUMSUB'
if ARGV[5] == '1' then
  sub = 'SHARDNUMSUB'
end
local counts = redis.call('PUBSUB', sub, ARGV[4])
if tonumber(counts[2]) > 0 then
  return -12
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return redis.call('INCR', KEYS[2])
