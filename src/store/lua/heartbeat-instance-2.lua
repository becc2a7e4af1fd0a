--[[
  Rewrites an instance's registry entry with a fresh TTL, only if the entry still exists: an
  expired entry means the fleet presumed the instance dead, and the caller must learn that.

  Input:
    KEYS[1] instance key  (prefix:instances:<id>)
    KEYS[2] index key     (prefix:instance_index)
    ARGV[1] entry JSON
    ARGV[2] TTL in milliseconds (positive integer)
    ARGV[3] instance id

  Output (refusals in the order of the checks of src/store/spec.ts, heartbeatInstance):
    0    rewritten
    -6   NOT_REGISTERED: the entry expired or was never written
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- Drop the dead id from the index now rather than at the next listing.
  redis.call('SREM', KEYS[2], ARGV[3])
  return -6
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- Heals an index that lost the id (hand edits, partial restores); a no-op otherwise.
redis.call('SADD', KEYS[2], ARGV[3])
return 0
