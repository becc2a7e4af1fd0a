--[[
  Removes a listener's owner, only if the caller is that owner. The fence is kept: it never
  decreases, so a later claim still outranks every write of this owner. A release appends one
  entry to the ownership log in this same step (reason 'release', no `to` field: nobody).

  Input:
    KEYS[1] owners key  (prefix:listener_owners)
    KEYS[2] fences key  (prefix:listener_fences)
    KEYS[3] epoch key   (prefix:consumer_lock:epoch)
    KEYS[4] ownership log key (prefix:ownership_log), a capped stream
    KEYS[5] state version (prefix:state_version), moved on a release
    ARGV[1] listener id
    ARGV[2] caller's instance id
    ARGV[3] ownership log cap (approximate MAXLEN)

  Output (refusals in the order of the checks of src/store/spec.ts, releaseListener):
    0    released
    -1   NOT_HOLDER: the caller does not own the listener
]]
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return -1
end
redis.call('HDEL', KEYS[1], ARGV[1])
local time = redis.call('TIME')
local at = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'listener_id', ARGV[1], 'from', ARGV[2],
  'fence', redis.call('HGET', KEYS[2], ARGV[1]) or '0',
  'epoch', redis.call('GET', KEYS[3]) or '0', 'reason', 'release', 'at', at)
redis.call('INCR', KEYS[5])
return 0
