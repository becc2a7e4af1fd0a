/**
 * Fences that survive a failover. Redis replicates asynchronously: a primary that dies right
 * after an epoch or fence bump can take the bump with it, and the promoted replica then hands the
 * same number out again while a deposed owner still holds it. So after every operation that
 * bumps one (acquiring the lock, claiming listeners), Baton `WAIT`s until enough replicas have the
 * write, and throws when they do not: the caller treats that like a Redis error (backs off and
 * retries, or gives up leading), and the unreplicated number is never acted on.
 */
import { Cluster, type Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { ClaimRequest, ClaimResult, CoordinationStore } from './types.js';

/** `REDIS_MIN_REPLICAS`: a count, or `auto` (1 when the primary reports replicas, else 0). */
export type MinReplicas = number | 'auto';

/** How the store waits for replication. */
export interface ReplicationOptions {
  minReplicas: MinReplicas;
  /** Longest wait for the replicas' acknowledgement (`REDIS_WAIT_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Called on every failed wait (a metric), with the operation and the replicas that acked. */
  onWaitFailure?: (operation: 'acquire' | 'claim', acked: number, wanted: number) => void;
}

/** Defaults: adapt to the topology, and wait at most one second (well under a lock TTL). */
export const defaultReplicationOptions: Readonly<ReplicationOptions> = Object.freeze({
  minReplicas: 'auto',
  timeoutMs: 1_000,
});

/** Environment variables read here, with their one-line documentation (for the config table). */
export const REPLICATION_ENV = Object.freeze({
  REDIS_MIN_REPLICAS:
    'replicas that must acknowledge an epoch/fence bump before it is used: a count, or auto (default: 1 when the primary has replicas, else 0)',
  REDIS_WAIT_TIMEOUT_MS:
    'longest WAIT for those replicas before the bump is refused (default 1000)',
});

/** The replication settings from the environment, or a one-line error. */
export function replicationFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ReplicationOptions {
  const min = env.REDIS_MIN_REPLICAS?.trim() || 'auto';
  const timeout = env.REDIS_WAIT_TIMEOUT_MS?.trim() || String(defaultReplicationOptions.timeoutMs);
  if (min !== 'auto' && !/^\d{1,2}$/.test(min)) {
    throw new RangeError(`REDIS_MIN_REPLICAS must be auto or an integer >= 0, got "${min}"`);
  }
  if (!/^\d{1,7}$/.test(timeout) || Number(timeout) <= 0) {
    throw new RangeError(`REDIS_WAIT_TIMEOUT_MS must be an integer of milliseconds > 0`);
  }
  return { minReplicas: min === 'auto' ? 'auto' : Number(min), timeoutMs: Number(timeout) };
}

/** An epoch or fence bump that too few replicas acknowledged: it must not be used. */
export class ReplicationWaitError extends Error {
  override readonly name = 'ReplicationWaitError';
  constructor(
    readonly operation: 'acquire' | 'claim',
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
 * Wraps `store` so that acquiring the lock and claiming listeners return only once `minReplicas`
 * replicas acknowledged the bump. `client` is the store's command client (same connection), and
 * `lockKey` any key of the prefix (they share one slot on Cluster).
 */
export function withReplicationWait(
  store: CoordinationStore,
  client: Redis | Cluster,
  lockKey: string,
  options: ReplicationOptions = defaultReplicationOptions,
): CoordinationStore {
  const slots = new Map<string, number>();
  const replicate = async (operation: 'acquire' | 'claim') => {
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
  const claimListeners = async (requests: readonly ClaimRequest[]): Promise<ClaimResult[]> => {
    const results = await store.claimListeners(requests);
    if (results.some((r) => r.ok)) await replicate('claim');
    return results;
  };
  const overrides: Partial<CoordinationStore> = {
    acquireLock: async (instanceId, ttlMs) => {
      const result = await store.acquireLock(instanceId, ttlMs);
      if (result.ok) await replicate('acquire');
      return result;
    },
    claimListeners,
    claimListener: async (listenerId, instanceId, epoch, expectedOwner, afterEmitted) => {
      const [result] = await claimListeners([
        { listenerId, instanceId, epoch, expectedOwner, afterEmitted },
      ]);
      return result!;
    },
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in overrides) {
        return overrides[property as keyof CoordinationStore];
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
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

/** `baton_replication_wait_failures_total{operation}`: bumps refused because replicas lagged. */
export function replicationWaitFailures(registry: Registry): Counter<'operation'> {
  const name = 'baton_replication_wait_failures_total';
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<'operation'>;
  return new Counter({
    name,
    help: 'Epoch or fence bumps not used because too few replicas acknowledged them in time',
    labelNames: ['operation'],
    registers: [registry],
  });
}
