--[[
  Reads every listener's owner and fence in one snapshot.

  Input:
    KEYS[1] owners key  (prefix:listener_owners)
    KEYS[2] fences key  (prefix:listener_fences)

  Output:
    {HGETALL owners, HGETALL fences}: two flat arrays {field, value, ...}

  Refusals: none.
]]
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
