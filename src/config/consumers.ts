/**
 * The hand-over of config groups to the modules that consume them. The groups are named field by
 * field as these option types are, so each hand-over is a spread, and the compiler checks here,
 * in one place, that a group and its consumer still agree (only the consumers' types are imported).
 */
import { configFromOverrides } from '../config.js';
import type { LoggerOptions } from '../log.js';
import type { RuntimeOptions } from '../runtime/runtime.js';
import type { RedisConnectionConfig } from '../store/redis-connection.js';
import type { ReplicationOptions } from '../store/replication.js';
import type { StoreOptions } from '../store/types.js';
import type { WsConnectorOptions } from '../upstream/ws-connector.js';
import type { Config, ConfigOverrides } from './settings.js';

/** Fields of a group that its consumer's options do not have (must be none). */
type Stray<Group, Options> = Exclude<keyof Group, keyof Options>;
type None<T extends never> = T;
type RuntimeGroups = Config['instance'] & Config['lock'] & Config['listener'] & Config['handoff'];

/**
 * Compile-time checks that each group still names its fields as its consumer does: a field added
 * to a group under a name the consumer lacks fails to compile here instead of being dropped.
 */
export type GroupsMatchConsumers = [
  None<Stray<RuntimeGroups, RuntimeOptions>>,
  None<Stray<Omit<Config['store'], 'redisUrl'>, StoreOptions>>,
  None<Stray<Config['upstream'], WsConnectorOptions>>,
  None<Stray<Config['log'], LoggerOptions>>,
  None<Stray<Config['redis'], RedisConnectionConfig>>,
  None<Stray<Config['replication'], ReplicationOptions>>,
];

/** The runtime's options: the instance, lock, listener and handoff groups. */
export function runtimeOptions(config: Config, meta?: RuntimeOptions['meta']): RuntimeOptions {
  return {
    ...config.instance,
    ...config.lock,
    ...config.listener,
    ...config.handoff,
    ...(meta ? { meta } : {}),
  };
}

/**
 * Runtime options from the defaults plus `overrides`, checked by the config's rules, without an
 * instance id: for the private warm-up and tests, which run several runtimes with short timings.
 */
export function runtimeTimings(overrides: ConfigOverrides): Omit<RuntimeOptions, 'instanceId'> {
  const { instanceId: _, ...options } = runtimeOptions(configFromOverrides(overrides));
  return Object.freeze(options);
}

/** The store's options: the store group without the address it connects to. */
export function storeOptions(config: Config): StoreOptions {
  const { redisUrl: _, ...options } = config.store;
  return options;
}

/**
 * The V8 flags for HEAP_GROWING_PERCENT (set by main.ts at start). V8's own policy lets the old
 * space grow to up to 4x what was live after the last full GC; at 10,000 listeners that headroom,
 * filled with garbage, was two thirds of RSS (docs/message-path.md). A fixed factor bounds it.
 */
export function heapFlags(growingPercent: Config['process']['heapGrowingPercent']): string[] {
  return growingPercent > 0 ? [`--heap-growing-percent=${growingPercent}`] : [];
}
