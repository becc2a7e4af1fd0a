--[[
  emergency-clear.lua: the CLI's `release-lock` and `reset` (the seed's redis-cli emergency recipe,
  made safe). Deletes the leader lock and the listed keys, unless a live leader holds the lock.
  Compare-and-set on the holder the CLI's plan saw: never a blind DEL of a lock that changed hands.
  Variable key count (called with numKeys), so the name carries no "-<numKeys>" suffix.

  Input:
    KEYS[1]   consumer_lock
    KEYS[2]   instances:{holder}, the registry entry of the holder the plan saw
              (KEYS[1] again when the plan saw no holder; then it is not checked)
    KEYS[3..] further keys to delete (listener_owners, instance_index, instances:*)
    ARGV[1]   the holder the plan saw ('' = none)
    ARGV[2]   '1' = force: delete even while that holder is live

  Output:
    >= 0  number of keys deleted (the lock counts when it existed)
    -1    LIVE_LEADER: the holder has a live registry entry and force is not set
    -2    LOCK_CHANGED: the lock holder is not the one the plan saw (re-run to re-plan)

  Never touches tokens, listener_fences or consumer_lock:epoch: fences and epochs only go up.
]]
local holder = redis.call('GET', KEYS[1])
if not holder then holder = '' end
if holder ~= ARGV[1] then return -2 end
if holder ~= '' and ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end

local deleted = redis.call('DEL', KEYS[1])
for i = 3, #KEYS do
  deleted = deleted + redis.call('DEL', KEYS[i])
end
return deleted
