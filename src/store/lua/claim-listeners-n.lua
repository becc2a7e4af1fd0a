--[[
  Takes ownership of listeners, in order, each for a claimer that must hold the leader lock (or,
  sharded, be the listener's assignee at the assignment generation it names), and
  bumps each claimed listener's fence so that every earlier owner's writes are rejected from now
  on. One script for a whole batch: a takeover of 1,000 listeners is a few calls, not 1,000.
  Checks, per claim and in order: the claimer holds the lock, at the epoch it names, the listener
  is desired, its owner is the expected one (optional), and (optional, overlap handoff) a msg id
  was already emitted for it within the dedup window: the old owner's output caught up.
  Each successful claim appends one entry to the ownership log in this same step (listener, from,
  to, fence, epoch, reason, at = Redis TIME in ms, and for a handoff overlap_since = when the old
  owner emitted the caught-up message; no `from` field when nobody owned it), capped with
  MAXLEN ~ ARGV[2].

  Input:
    KEYS[1] lock key    (prefix:consumer_lock)
    KEYS[2] epoch key   (prefix:consumer_lock:epoch)
    KEYS[3] tokens key  (prefix:tokens)
    KEYS[4] owners key  (prefix:listener_owners), hash listener id -> owner instance id
    KEYS[5] fences key  (prefix:listener_fences), hash listener id -> fence
    KEYS[6] assignments key (prefix:listener_assignments), hash listener id -> assignee
    KEYS[7] assignment generations key (prefix:listener_assignment_generations)
    KEYS[8] ownership log key (prefix:ownership_log), a capped stream
    KEYS[9] state version (prefix:state_version), moved once per batch that claimed anything
    KEYS[9+i] dedup key of claim i (prefix:dedup:<listener id>), sorted set msg id -> microseconds
    ARGV[1] dedup window in milliseconds
    ARGV[2] ownership log cap (approximate MAXLEN)
    then 7 arguments per claim i:
      listener id
      claimer's instance id
      epoch the claimer believes it holds
      owner expectation: '0' none, '1' must be unowned, '2' must be owned by the next argument
      expected owner (used when the expectation is '2')
      msg id that must have been emitted already ('' = no such condition)
      assignment generation the claimer read ('' = none: the lock is checked instead)

  Output: an array, one entry per claim, refusals in the order of
  the checks of src/store/spec.ts (claimListeners):
    fence (integer >= 1)   the new fence; the claimer owns the listener
    -1                     NOT_HOLDER: the claimer does not hold the lock
    -2                     STALE_EPOCH: it holds the lock at another epoch
    -10                    NOT_ASSIGNED: the listener is not assigned to the claimer
    -11                    STALE_ASSIGNMENT: it was assigned after the generation named
    -5                     NOT_DESIRED: the listener has no token
    -3                     OWNER_CHANGED: the owner is not the expected one
    -9                     NOT_CAUGHT_UP: the named msg id was not emitted (yet)
]]
local holder = redis.call('GET', KEYS[1])
local epoch = tonumber(redis.call('GET', KEYS[2]) or '0')
local window = tonumber(ARGV[1]) * 1000
local now = nil
local out = {}

-- Microseconds of Redis TIME, read once per script (deterministic within the step).
local function clock()
  if not now then
    local time = redis.call('TIME')
    now = tonumber(time[1]) * 1000000 + tonumber(time[2])
  end
  return now
end

local function claim(i, a)
  local id = ARGV[a]
  local assignment = ARGV[a + 6]
  if assignment == '' then
    if holder ~= ARGV[a + 1] then
      return -1
    end
    if epoch ~= tonumber(ARGV[a + 2]) then
      return -2
    end
  else
    if redis.call('HGET', KEYS[6], id) ~= ARGV[a + 1] then
      return -10
    end
    if tonumber(redis.call('HGET', KEYS[7], id) or '0') > tonumber(assignment) then
      return -11
    end
  end
  if redis.call('HEXISTS', KEYS[3], id) == 0 then
    return -5
  end
  local expectation = ARGV[a + 3]
  local owner = redis.call('HGET', KEYS[4], id)
  if expectation ~= '0' then
    if expectation == '1' and owner then
      return -3
    end
    if expectation == '2' and owner ~= ARGV[a + 4] then
      return -3
    end
  end
  local score = nil
  if ARGV[a + 5] ~= '' then
    score = redis.call('ZSCORE', KEYS[9 + i], ARGV[a + 5])
    if not score then
      return -9
    end
    if tonumber(score) <= clock() - window then
      return -9
    end
  end
  local fence = redis.call('HINCRBY', KEYS[5], id, 1)
  redis.call('HSET', KEYS[4], id, ARGV[a + 1])
  -- The reasons of claimReason in src/store/ownership-log.ts.
  local reason = 'takeover'
  if not owner then
    reason = 'claim'
  elseif owner == ARGV[a + 1] then
    reason = 'reclaim'
  elseif score then
    reason = 'handoff'
  end
  -- "Nobody" is an absent field: an empty string is an ordinary instance id.
  local fields = { 'listener_id', id, 'to', ARGV[a + 1], 'fence', fence,
    'epoch', epoch, 'reason', reason, 'at', math.floor(clock() / 1000) }
  if owner then
    fields[#fields + 1] = 'from'
    fields[#fields + 1] = owner
  end
  if reason == 'handoff' then
    fields[#fields + 1] = 'overlap_since'
    fields[#fields + 1] = math.floor(tonumber(score) / 1000)
  end
  redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
  return fence
end

local claimed = false
for i = 1, #KEYS - 9 do
  out[i] = claim(i, 3 + (i - 1) * 7)
  if out[i] > 0 then
    claimed = true
  end
end
if claimed then
  redis.call('INCR', KEYS[9])
end
return out
