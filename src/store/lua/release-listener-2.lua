--[[
  Removes a listener's owner, only if the caller is that owner. The fence is kept: it never
  decreases, so a later claim still outranks every write of this owner.

  Input:
    KEYS[1] owners key  (prefix:listener_owners)
    KEYS[2] state version (prefix:state_version), moved on a release
    ARGV[1] listener id
    ARGV[2] caller's instance id

  Output (refusals in the order of the checks of src/store/spec.ts, releaseListener):
    0    released
    -1   NOT_HOLDER: the caller does not own the listener
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return -1
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
return 0
