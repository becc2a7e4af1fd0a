/**
 * Presence on Redis: each instance subscribes to its own channel on its subscriber connection,
 * and Redis drops a client's subscriptions the moment its socket closes (a crashed process),
 * so `PUBSUB NUMSUB` of the channel says at once whether the instance is still connected. On Redis
 * Cluster the channel is sharded (SSUBSCRIBE) and the prefix's hash tag puts it on the lock's node.
 */
import type { Cluster, Redis } from 'ioredis';
import { refused, replyValue, type ScriptRunner } from './redis-scripts.js';
import { integerOf, StoreReplyError } from './refusals.js';
import { type Refused, type storeKeys, ttlArg } from './types.js';

type Keys = ReturnType<typeof storeKeys>;

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

/**
 * Whether each instance's presence channel has a subscriber now, in order. Through a script on
 * the lock key so that on Cluster the count comes from the node that holds the sharded channels
 * (as deposeLock checks).
 */
export async function readPresence(
  scripts: ScriptRunner,
  keys: Keys,
  instanceIds: readonly string[],
  sharded: boolean,
): Promise<boolean[]> {
  if (instanceIds.length === 0) return [];
  const channels = instanceIds.map((id) => keys.presence(id));
  const args = [sharded ? '1' : '0', ...channels];
  const out = await scripts.run('read-presence', [keys.lock], args);
  return channelCounts(replyValue('read-presence', out), channels).map((n) => n > 0);
}

/** deposeLock on Redis: depose-lock-2.lua, with the holder's presence channel to check. */
export async function deposeLock(
  scripts: ScriptRunner,
  keys: Keys,
  sharded: boolean,
  [instanceId, holder, ttlMs]: [string, string, number],
): Promise<{ ok: true; epoch: number } | Refused> {
  const channel = keys.presence(holder);
  const args = [instanceId, holder, ttlArg(ttlMs), channel, sharded ? '1' : '0'];
  const out = await scripts.run('depose-lock', [keys.lock, keys.epoch], args);
  return out.ok
    ? { ok: true, epoch: integerOf('depose-lock', out.value) }
    : refused('depose-lock', out);
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
    /** Presence channels are sharded (Redis Cluster: the depose script checks on its node). */
    readonly sharded: boolean,
    always: readonly string[],
  ) {
    this.names = new Set(always);
  }

  /**
   * A subscriber connection duplicated from `client` that keeps these channels. Its errors are
   * ignored: trouble surfaces as rejected calls and missed hints (only hints: the runtime resyncs
   * on a timer), and the connection reconnects and re-subscribes by itself.
   */
  connection(client: Client): Client {
    const sub = this.sharded
      ? client.duplicate()
      : (client as Redis).duplicate({ autoResubscribe: false });
    sub.on('error', () => {});
    if (this.sharded) return sub;
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
