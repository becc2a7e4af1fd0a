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
-- One HGETALL of the generations instead of one HGET per listener: a resync of 1,000 listeners
-- is two commands, not 1,001.
local generations = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  generations[flat[i]] = flat[i + 1]
end
local out = {}
for _, id in ipairs(redis.call('HKEYS', KEYS[1])) do
  out[#out + 1] = id
  out[#out + 1] = tonumber(generations[id] or '0')
end
return out
