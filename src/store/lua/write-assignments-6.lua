--[[
  Stores a sharded plan's changes, only for the instance that holds the leader lock at the epoch
  it names, so a deposed leader's plan is refused. Bumps the assignment generation and records it
  on every changed listener (a claim checks the claimer read a plan at least that new).

  Input:
    KEYS[1] lock key         (prefix:consumer_lock)
    KEYS[2] epoch key        (prefix:consumer_lock:epoch)
    KEYS[3] assignments key  (prefix:listener_assignments), hash listener id -> instance id
    KEYS[4] generations key  (prefix:listener_assignment_generations), listener id -> generation
    KEYS[5] generation key   (prefix:listener_assignments:generation), counter
    KEYS[6] state version    (prefix:state_version), counter moved by every change
    ARGV[1] instance id
    ARGV[2] epoch the caller believes it holds
    then 2 arguments per change: listener id, assignee ('' = remove the assignment)

  Output (refusals in the order of the checks of src/store/spec.ts, writeAssignments):
    generation (integer >= 1)   stored; the new assignment generation
    -1   NOT_HOLDER: the lock is free or held by another instance
    -2   STALE_EPOCH: ARGV[1] holds the lock, but at another epoch
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[2]) then
  return -2
end
local generation = redis.call('INCR', KEYS[5])
redis.call('INCR', KEYS[6])
for a = 3, #ARGV, 2 do
  if ARGV[a + 1] == '' then
    redis.call('HDEL', KEYS[3], ARGV[a])
    redis.call('HDEL', KEYS[4], ARGV[a])
  else
    redis.call('HSET', KEYS[3], ARGV[a], ARGV[a + 1])
    redis.call('HSET', KEYS[4], ARGV[a], generation)
  end
end
return generation
