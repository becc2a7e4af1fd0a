--[[
  Makes a listener desired. With a token, stores it; without one (restart), keeps the stored
  token and refuses when there is none. Always bumps the listener's generation, so the leader
  sees a restart even when the token did not change.

  Input:
    KEYS[1] tokens key       (prefix:tokens), hash listener id -> token
    KEYS[2] generations key  (prefix:listener_generations), hash listener id -> generation
    ARGV[1] listener id
    ARGV[2] '1' when a token is given, '0' otherwise
    ARGV[3] token (ignored when ARGV[2] is '0')

  Output:
    generation (integer >= 1)   the listener is desired at this generation
    -5                          NOT_DESIRED: no token given and none stored
]]
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
elseif redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return -5
end
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
