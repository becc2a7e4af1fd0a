--[[
  Writes (creates or replaces) an instance's registry entry with a TTL and adds its id to the
  instance index, so listing needs no SCAN and works in Redis Cluster.

  Input:
    KEYS[1] instance key  (prefix:instances:<id>), string JSON
    KEYS[2] index key     (prefix:instance_index), set of instance ids
    ARGV[1] entry JSON
    ARGV[2] TTL in milliseconds (positive integer)
    ARGV[3] instance id

  Output:
    0    written

  Refusals: none.
]]
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 0
