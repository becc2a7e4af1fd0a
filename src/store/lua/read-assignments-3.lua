--[[
  Reads the stored sharded assignment in one snapshot.

  Input:
    KEYS[1] assignments key  (prefix:listener_assignments)
    KEYS[2] generations key  (prefix:listener_assignment_generations)
    KEYS[3] generation key   (prefix:listener_assignments:generation)

  Output:
    {generation, HGETALL assignments, HGETALL generations}

  Refusals: none.
]]
return {
  tonumber(redis.call('GET', KEYS[3]) or '0'),
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[2]),
}
