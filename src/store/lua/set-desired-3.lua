--[[
  Makes a listener desired. With a token, stores it; without one, keeps the stored token and
  refuses when there is none. Bumps the listener's generation on a restart (no token, or the
  restart flag: the leader sees it even though the token did not change) or a new or changed
  token (including a start after a removal); replaying a start with the token already stored
  changes nothing and answers the current generation, so it never restarts a live listener.

  Input:
    KEYS[1] tokens key       (prefix:tokens), hash listener id -> token
    KEYS[2] generations key  (prefix:listener_generations), hash listener id -> generation
    KEYS[3] state version    (prefix:state_version), counter moved by every change
    ARGV[1] listener id
    ARGV[2] '1' when a token is given, '0' otherwise
    ARGV[3] token (ignored when ARGV[2] is '0')
    ARGV[4] '1' = restart: bump the generation even when the token is unchanged

  Output (refusals in the order of the checks of src/store/spec.ts, setDesired):
    generation (integer >= 0)   the listener is desired at this generation (0 only when a token
                                was stored by hand without a generation)
    -5                          NOT_DESIRED: no token given and none stored
]]
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if stored == ARGV[3] and ARGV[4] ~= '1' then
    return tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
elseif not stored then
  return -5
end
redis.call('INCR', KEYS[3])
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
