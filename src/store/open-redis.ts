/**
 * Opens the production Redis store: the client for the configured topology, a first connection
 * that fails fast on bad credentials or TLS trust, the eviction-policy check, and the replication
 * wait around every epoch or fence bump.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createRedisClient, firstConnection, type RedisSettings } from './redis-connection.js';
import { coordinatorRedisOptions, RedisStore } from './redis-store.js';
import {
  evictionPolicyWarning,
  type ReplicationOptions,
  withReplicationWait,
} from './replication.js';
import { type CoordinationStore, type StoreOptions, storeKeys } from './types.js';

/** What `openRedisStore` needs besides the settings. */
export interface OpenRedisDeps {
  clock: Clock;
  logger: Logger;
  /** Where the failed replication waits are counted. */
  metrics: Pick<Metrics, 'replicationWaitFailures'>;
  replication: ReplicationOptions;
}

/** Connects, checks, and returns the store (throws one line on unusable credentials or TLS). */
export async function openRedisStore(
  settings: RedisSettings,
  storeOptions: Partial<StoreOptions> & { prefix: string },
  deps: OpenRedisDeps,
): Promise<CoordinationStore> {
  const client = createRedisClient(settings, coordinatorRedisOptions);
  await firstConnection(client, settings, deps.clock);
  const store = new RedisStore(client, storeOptions);
  if (client.status === 'ready') {
    const warning = await evictionPolicyWarning(client).catch(() => null);
    if (warning) deps.logger.warn({ event: 'redis.eviction_policy' }, warning);
  }
  const failures = deps.metrics.replicationWaitFailures;
  return withReplicationWait(store, client, storeKeys(storeOptions.prefix).lock, {
    ...deps.replication,
    onWaitFailure: (operation) => failures.inc({ operation }),
  });
}
