/**
 * The hand-over of config groups to the modules that consume them. The groups are named field by
 * field as these option types are, so each hand-over is a spread, and the compiler checks here,
 * in one place, that a group and its consumer still agree (the imports are types only).
 */

import { configFromOverrides } from '../config.js';
import type { RuntimeOptions } from '../runtime/runtime.js';
import type { StoreOptions } from '../store/types.js';
import type { Config, ConfigOverrides } from './settings.js';

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
