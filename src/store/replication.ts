/**
 * Fences that survive a failover. Redis replicates asynchronously: a primary that dies right
 * after an epoch or fence bump can take the bump with it, and the promoted replica then hands the
 * same number out again while a deposed owner still holds it. So after every operation that
 * bumps one (acquiring the lock, deposing a crashed holder, claiming listeners, and, sharded,
 * writing assignments: claims name the assignment generation), Baton `WAIT`s until enough replicas
 * have the write, and throws when they do not: the caller treats that like a Redis error (backs
 * off and retries, or gives up leading), and the unreplicated number is never acted on.
 */
import { Cluster, type Redis } from 'ioredis';
import type { ClaimRequest, ClaimResult, CoordinationStore } from './types.js';

/** The waited operations, as the metric labels them. */
export type WaitedOperation = 'acquire' | 'claim' | 'assign';

/** `REDIS_MIN_REPLICAS`: a count, or `auto` (1 when the primary reports replicas, else 0). */
export type MinReplicas = number | 'auto';

/** How the store waits for replication (the `replication` settings group). */
export interface ReplicationOptions {
  minReplicas: MinReplicas;
  /** Longest wait for the replicas' acknowledgement (`REDIS_WAIT_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Called on every failed wait (a metric), with the operation and the replicas that acked. */
  onWaitFailure?: (operation: WaitedOperation, acked: number, wanted: number) => void;
}

/** Defaults: adapt to the topology, and wait at most one second (well under a lock TTL). */
export const defaultReplicationOptions: Readonly<ReplicationOptions> = Object.freeze({
  minReplicas: 'auto',
  timeoutMs: 1_000,
});

/** An epoch or fence bump that too few replicas acknowledged: it must not be used. */
export class ReplicationWaitError extends Error {
  override readonly name = 'ReplicationWaitError';
  constructor(
    readonly operation: WaitedOperation,
    readonly acked: number,
    readonly wanted: number,
  ) {
    super(`${operation}: ${acked} of ${wanted} replica(s) acknowledged the write; not using it`);
  }
}

type Node = Redis;

/**
 * The connection that carried the writes to `key`: WAIT counts the writes of its own connection.
 * On Cluster, that is the pooled connection of the primary serving the key's slot.
 */
async function primaryFor(client: Redis | Cluster, key: string, slots: Map<string, number>) {
  if (!(client instanceof Cluster)) return client;
  const cluster = client;
  let slot = slots.get(key);
  if (slot === undefined) {
    slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', key));
    slots.set(key, slot);
  }
  const owner = cluster.slots[slot]?.[0];
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!node) throw new Error(`no primary known for slot ${slot} (cluster topology refreshing)`);
  return node;
}

/** Replicas a primary reports connected (`INFO replication`), 0 when it cannot tell. */
export async function connectedReplicas(node: Node): Promise<number> {
  const info = String(await node.info('replication'));
  const match = /^connected_slaves:(\d+)/m.exec(info);
  return match ? Number(match[1]) : 0;
}

/**
 * Wraps `store` so that acquiring or deposing the lock, claiming listeners and writing
 * assignments return only once `minReplicas` replicas acknowledged the bump. `client` is the
 * store's command client (same connection), and
 * `lockKey` any key of the prefix (they share one slot on Cluster).
 */
export function withReplicationWait(
  store: CoordinationStore,
  client: Redis | Cluster,
  lockKey: string,
  options: ReplicationOptions = defaultReplicationOptions,
): CoordinationStore {
  const slots = new Map<string, number>();
  const replicate = async (operation: WaitedOperation) => {
    if (options.minReplicas === 0) return;
    const node = await primaryFor(client, lockKey, slots);
    const wanted =
      options.minReplicas === 'auto'
        ? Math.min(1, await connectedReplicas(node))
        : options.minReplicas;
    if (wanted === 0) return;
    const acked = Number(await node.call('WAIT', wanted, options.timeoutMs));
    if (acked >= wanted) return;
    options.onWaitFailure?.(operation, acked, wanted);
    throw new ReplicationWaitError(operation, acked, wanted);
  };
  const overrides: Partial<CoordinationStore> = {
    acquireLock: async (instanceId, ttlMs) => {
      const result = await store.acquireLock(instanceId, ttlMs);
      if (result.ok) await replicate('acquire');
      return result;
    },
    // Deposing a crashed holder bumps the epoch like an acquisition, and is counted as one.
    deposeLock: async (instanceId, holder, ttlMs) => {
      const result = await store.deposeLock(instanceId, holder, ttlMs);
      if (result.ok) await replicate('acquire');
      return result;
    },
    claimListeners: async (requests: readonly ClaimRequest[]): Promise<ClaimResult[]> => {
      const results = await store.claimListeners(requests);
      if (results.some((r) => r.ok)) await replicate('claim');
      return results;
    },
    // A lost generation bump would let the next leader hand the same generation out again with
    // other assignees, so two instances could claim one listener at one generation.
    writeAssignments: async (instanceId, epoch, changes) => {
      const result = await store.writeAssignments(instanceId, epoch, changes);
      if (result.ok) await replicate('assign');
      return result;
    },
  };
  // Bound once per method: the emit path reads `emitMany` through this proxy for every batch.
  // (Re-bound when the method itself changes, as a test's wrapper may replace it.)
  const bound = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in overrides) {
        return overrides[property as keyof CoordinationStore];
      }
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      let fn = bound.get(value);
      if (fn === undefined) {
        fn = value.bind(target);
        bound.set(value, fn);
      }
      return fn;
    },
  });
}

/**
 * Checks `maxmemory-policy`: anything but `noeviction` may evict a fence or epoch key, which is a
 * safety bug. Returns the warning to log, or null when the policy is right; a server that refuses
 * `CONFIG GET` (managed Redis, ACL) gets a warning that says what to verify by hand.
 */
export async function evictionPolicyWarning(client: Redis | Cluster): Promise<string | null> {
  const nodes =
    'nodes' in client && typeof client.nodes === 'function' ? client.nodes('master') : [];
  const targets: Node[] = nodes.length > 0 ? nodes : [client as Node];
  const bad: string[] = [];
  for (const node of targets) {
    let policy: string;
    try {
      const reply = (await node.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
      policy = String(reply[1] ?? 'unknown');
    } catch (error) {
      return `cannot read maxmemory-policy (${(error as Error).message.split('\n')[0]}): make sure it is noeviction, an evicted fence or epoch key would let a stale owner write`;
    }
    if (policy !== 'noeviction') bad.push(`${node.options.host}:${node.options.port}=${policy}`);
  }
  if (bad.length === 0) return null;
  return `maxmemory-policy is not noeviction (${bad.join(', ')}): Redis may evict fence or epoch keys under memory pressure, which would let a stale owner write; set maxmemory-policy noeviction`;
}
