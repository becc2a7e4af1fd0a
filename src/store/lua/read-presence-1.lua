--[[
  Reads whether each instance's presence channel has a subscriber now. A script only so that, on
  Redis Cluster, it runs on the node serving the prefix's slot: a sharded channel's subscribers
  are counted by that node alone (PUBSUB SHARDNUMSUB elsewhere answers 0), as in depose-lock.

  Input:
    KEYS[1] lock key (prefix:consumer_lock): not read, it routes the script to the lock's node
    ARGV[1] '1' on Redis Cluster (sharded channels: PUBSUB SHARDNUMSUB), else '0'
    ARGV[2..] the presence channels (prefix:presence:<id>)

  Output:
    the PUBSUB NUMSUB/SHARDNUMSUB reply: {channel, count, channel, count, ...}

  Refusals: none.
]]
local sub = 'NUMSUB'
if ARGV[1] == '1' then
  sub = 'SHARDNUMSUB'
end
return redis.call('PUBSUB', sub, unpack(ARGV, 2))
