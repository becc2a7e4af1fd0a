--[[
  Lists desired listeners with their generations in one snapshot. Never returns tokens.

  Input:
    KEYS[1] tokens key       (prefix:tokens)
    KEYS[2] generations key  (prefix:listener_generations)

  Output:
    flat array {listener id, generation, ...} (generation 0 if the counter is missing), in hash
    order (the caller sorts)

  Refusals: none.
]]
local out = {}
for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
  out[#out + 1] = id
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], id) or '0')
end
return out
