--[[
  Deletes an instance's registry entry and its id in the instance index.

  Input:
    KEYS[1] instance key  (prefix:instances:<id>)
    KEYS[2] index key     (prefix:instance_index)
    ARGV[1] instance id

  Output:
    0    deleted (or was already absent)

  Refusals: none.
]]
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 0
