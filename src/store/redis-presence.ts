/**
 * Presence on Redis: each instance subscribes to its own channel on its subscriber connection,
 * and Redis drops a client's subscriptions the moment its socket closes (a crashed process),
 * so `PUBSUB NUMSUB` of the channel says at once whether the instance is still connected. On Redis
 * Cluster the channel is sharded (SSUBSCRIBE) and the prefix's hash tag puts it on the lock's node.
 */
import { StoreReplyError } from './refusals.js';

/** The subscriber counts of a `PUBSUB NUMSUB`/`SHARDNUMSUB` reply, in the order of `channels`. */
export function channelCounts(reply: unknown, channels: readonly string[]): number[] {
  if (!Array.isArray(reply) || reply.length !== channels.length * 2) {
    throw new StoreReplyError('PUBSUB NUMSUB', reply);
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < reply.length; i += 2) counts.set(String(reply[i]), Number(reply[i + 1]));
  return channels.map((c) => counts.get(c) ?? 0);
}
