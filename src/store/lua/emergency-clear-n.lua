--[[
  emergency-clear.lua: the CLI's `release-lock` and `reset` (the seed's redis-cli emergency recipe,
  made safe). Deletes the leader lock and the listed keys, unless a live leader holds the lock.
  Compare-and-set on the holder the CLI's plan saw: never a blind DEL of a lock that changed hands.
  Variable key count (called with numKeys), so the name carries no "-<numKeys>" suffix.

  Input:
    KEYS[1]   consumer_lock
    KEYS[2]   instances:{holder}, the registry entry of the holder the plan saw
              (KEYS[1] again when the plan saw no holder; then it is not checked)
    KEYS[3]   ownership_log (capped stream): one 'reset' entry per owner that listener_owners held
    KEYS[4]   listener_fences, KEYS[5] consumer_lock:epoch (read for those entries)
    KEYS[6]   state_version: moved when listener_owners is deleted, as every owner change moves it
    KEYS[7..] further keys to delete (listener_owners, instance_index, instances:*)
    ARGV[1]   the holder the plan saw ('' = none)
    ARGV[2]   '1' = force: delete even while that holder is live
    ARGV[3]   the listener_owners key name when it is among the keys to delete ('' = not)
    ARGV[4]   ownership log cap (approximate MAXLEN)

  Output:
    >= 0  number of keys deleted (the lock counts when it existed)
    -1    LIVE_LEADER: the holder has a live registry entry and force is not set
    -2    LOCK_CHANGED: the lock holder is not the one the plan saw (re-run to re-plan)

  Never deletes tokens, listener_fences, consumer_lock:epoch, ownership_log or state_version:
  fences, epochs and the version only go up.
]]
local holder = redis.call('GET', KEYS[1])
if not holder then holder = '' end
if holder ~= ARGV[1] then return -2 end
if holder ~= '' and ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end

local deleted = redis.call('DEL', KEYS[1])
for i = 7, #KEYS do
  if KEYS[i] == ARGV[3] then
    -- Every owner dropped here is an ownership change: logged as the claim/release scripts do.
    local time = redis.call('TIME')
    local at = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    local epoch = redis.call('GET', KEYS[5]) or '0'
    local owners = redis.call('HGETALL', KEYS[i])
    for j = 1, #owners, 2 do
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'listener_id', owners[j],
        'from', owners[j + 1], 'fence', redis.call('HGET', KEYS[4], owners[j]) or '0',
        'epoch', epoch, 'reason', 'reset', 'at', at)
    end
    -- Readers that cached the owners (src/runtime/state-reader.ts) must read them again.
    redis.call('INCR', KEYS[6])
  end
  deleted = deleted + redis.call('DEL', KEYS[i])
end
return deleted
