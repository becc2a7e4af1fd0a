/**
 * Presence on Redis: each instance subscribes to its own channel on its subscriber connection,
 * and Redis drops a client's subscriptions the moment its socket closes (a crashed process),
 * so `PUBSUB NUMSUB` of the channel says at once whether the instance is still connected. On Redis
 * Cluster the channel is sharded (SSUBSCRIBE) and the prefix's hash tag puts it on the lock's node.
 */
import type { Cluster, Redis } from 'ioredis';
import { StoreReplyError } from './refusals.js';

type Client = Redis | Cluster;

/** The subscriber counts of a `PUBSUB NUMSUB`/`SHARDNUMSUB` reply, in the order of `channels`. */
export function channelCounts(reply: unknown, channels: readonly string[]): number[] {
  if (!Array.isArray(reply) || reply.length !== channels.length * 2) {
    throw new StoreReplyError('PUBSUB NUMSUB', reply);
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < reply.length; i += 2) counts.set(String(reply[i]), Number(reply[i + 1]));
  return channels.map((c) => counts.get(c) ?? 0);
}

/** Whether each channel has a subscriber now, in order. */
export async function readPresence(
  client: Client,
  channels: readonly string[],
  sharded: boolean,
): Promise<boolean[]> {
  if (channels.length === 0) return [];
  const reply = await client.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', ...channels);
  return channelCounts(reply, channels).map((n) => n > 0);
}

/**
 * The subscriber connection's channels. ioredis' own re-subscribe after a reconnect leaves a
 * refused SUBSCRIBE as an unhandled rejection (the process dies), so on a standalone server the
 * connection re-subscribes here on every reconnect and, when refused, reconnects to try again.
 * (Cluster clients keep ioredis' re-subscribe: sharded channels move with their slots.)
 */
export class SubscribedChannels {
  private readonly names: Set<string>;

  constructor(
    private readonly sharded: boolean,
    always: readonly string[],
  ) {
    this.names = new Set(always);
  }

  /** A subscriber connection duplicated from `client` that keeps these channels. */
  connection(client: Client): Client {
    if (this.sharded) return client.duplicate();
    const sub = (client as Redis).duplicate({ autoResubscribe: false });
    let first = true;
    sub.on('ready', () => {
      if (first) {
        first = false; // the first subscribe is the caller's
        return;
      }
      void sub.subscribe(...this.names).catch(() => sub.disconnect(true));
    });
    return sub;
  }

  /** Subscribes `channel` on `sub` and keeps it; returns the function that unsubscribes it. */
  async add(sub: Client, channel: string): Promise<() => Promise<void>> {
    this.names.add(channel);
    await (this.sharded ? sub.ssubscribe(channel) : sub.subscribe(channel));
    return async () => {
      this.names.delete(channel);
      if (sub.status === 'end') return;
      await (this.sharded ? sub.sunsubscribe(channel) : sub.unsubscribe(channel)).then(
        () => undefined,
        () => undefined,
      );
    };
  }
}
