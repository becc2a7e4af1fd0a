--[[
  Reads the registry entries of the given instances (the caller read the index with SMEMBERS
  first, so that every key this script touches is declared in KEYS). Ids whose entry has
  expired are removed from the index. The key count varies: `n` in the file name.

  Input:
    KEYS[1]     index key (prefix:instance_index)
    KEYS[1+i]   instance key (prefix:instances:<id>) of ARGV[i], for i = 1..#ARGV
    ARGV[i]     instance id

  Output:
    flat array {id, entry JSON, ttl ms, id, entry JSON, ttl ms, ...} of live entries, in ARGV
    order (the caller sorts)

  Refusals: none.
]]
local out = {}
for i = 1, #ARGV do
  local key = KEYS[i + 1]
  local entry = redis.call('GET', key)
  if entry then
    out[#out + 1] = ARGV[i]
    out[#out + 1] = entry
    out[#out + 1] = redis.call('PTTL', key)
  else
    redis.call('SREM', KEYS[1], ARGV[i])
  end
end
return out
