--[[
  Takes ownership of a listener for the leader, and bumps the listener's fence so that every
  earlier owner's writes are rejected from now on. Checks, in order: the claimer holds the lock,
  at the epoch it names, the listener is desired, and (optionally) its owner is the expected one.

  Input:
    KEYS[1] lock key    (prefix:consumer_lock)
    KEYS[2] epoch key   (prefix:consumer_lock:epoch)
    KEYS[3] tokens key  (prefix:tokens)
    KEYS[4] owners key  (prefix:listener_owners), hash listener id -> owner instance id
    KEYS[5] fences key  (prefix:listener_fences), hash listener id -> fence
    ARGV[1] listener id
    ARGV[2] claimer's instance id
    ARGV[3] epoch the claimer believes it holds
    ARGV[4] owner expectation: '0' none, '1' must be unowned, '2' must be owned by ARGV[5]
    ARGV[5] expected owner (used when ARGV[4] is '2')

  Output:
    fence (integer >= 1)   the new fence; ARGV[2] owns the listener
    -1                     NOT_HOLDER: the claimer does not hold the lock
    -2                     STALE_EPOCH: it holds the lock at another epoch
    -5                     NOT_DESIRED: the listener has no token
    -3                     OWNER_CHANGED: the owner is not the expected one
]]
if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return -1
end
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[3]) then
  return -2
end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  return -5
end
if ARGV[4] ~= '0' then
  local owner = redis.call('HGET', KEYS[4], ARGV[1])
  if ARGV[4] == '1' and owner then
    return -3
  end
  if ARGV[4] == '2' and owner ~= ARGV[5] then
    return -3
  end
end
local fence = redis.call('HINCRBY', KEYS[5], ARGV[1], 1)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
return fence
