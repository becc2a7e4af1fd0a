--[[
  Removes a listener's desired state (its token). Its generation counter is kept, so a later
  start continues the sequence and stays distinguishable from every earlier one.

  Input:
    KEYS[1] tokens key  (prefix:tokens)
    KEYS[2] state version (prefix:state_version), moved when the listener was desired
    ARGV[1] listener id

  Output:
    1    the listener was desired
    0    it was not

  Refusals: none.
]]
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 1 then
  redis.call('INCR', KEYS[2])
end
return removed
