/**
 * What one seed simulates: the options a caller picks (size, length, planted bugs, which faults)
 * and the configuration the seed draws itself (timings around the defaults, handoff mode, feed
 * rates, which fault types are on: swarm testing, so each seed stresses a different mix).
 */
import type { Clock } from '../src/clock.js';
import { runtimeTimings } from '../src/config/consumers.js';
import type { Rng } from '../src/rng.js';
import type { RuntimeDeps, RuntimeOptions } from '../src/runtime/runtime.js';
import type { InspectionRecord } from '../src/runtime/view.js';
import type { OwnershipLogEntry } from '../src/store/ownership-log.js';
import type { CoordinationStore } from '../src/store/types.js';
import { chance, int, pick, uniform } from './draw.js';
import type { DrainMode } from './kernel.js';
import type { StoreBugs } from './store.js';

/** Every fault type the nemesis can inject. */
export const FAULT_TYPES = [
  'crash',
  'sigterm',
  'deploy',
  'pause',
  'pause-after-send',
  'partition',
  'clog',
  'flaky',
  'store-clock-jump',
  'clock-step',
  'clock-drift',
  'session-drop',
  'token-refuse',
  'slow-connect',
  'upstream-errors',
  'command-storm',
  'kill-mid-handoff',
  'presence-blip',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export interface SimOptions {
  seed: number;
  /** Simulated minutes of faults before the liveness phase. */
  minutes: number;
  instances: number;
  listeners: number;
  /** Fault types allowed (each seed enables a random subset of them); [] = no faults. */
  faults: readonly FaultType[];
  /** Swarm testing: each allowed fault type is on for a seed with this probability. */
  swarm: number;
  /** Mean simulated seconds between faults (a seed draws around it). */
  faultEverySec: number;
  /** Runtime-side planted bugs (canaries): machine overrides for every process. */
  runtimePlants?: readonly RuntimePlant[];
  /** Store-side planted bugs (canaries). */
  storeBugs?: StoreBugs;
  /** Force a handoff mode instead of drawing one. */
  handoffMode?: 'overlap' | 'sequential';
  /** OWNERSHIP of every process (default: the product's default, sharded). */
  ownership?: 'single' | 'sharded';
  drain?: DrainMode;
  /** Trace lines kept for a failure report (default 40). */
  traceLines?: number;
  /**
   * Receives every inspection record of every process (`--trace-out`, the dashboard's replay),
   * with the simulated world's time (the store's clock; a process's own clock may be skewed).
   */
  onInspection?: (processId: string, record: InspectionRecord, worldTime: number) => void;
  /** Receives the store's ownership log at the end of the run (`--trace-out`). */
  onOwnershipLog?: (entries: OwnershipLogEntry[]) => void;
}

/**
 * A runtime-side planted bug: the machine overrides (`RuntimeDeps.machines`) for one process,
 * given what of that process a plant may use.
 */
export type RuntimePlant = (process: {
  instanceId: string;
  clock: Clock;
  store: CoordinationStore;
}) => NonNullable<RuntimeDeps['machines']>;

export const STANDARD: Omit<SimOptions, 'seed'> = Object.freeze({
  minutes: 10,
  instances: 5,
  listeners: 50,
  faults: FAULT_TYPES,
  swarm: 0.75,
  faultEverySec: 12,
});

/** The runtime timings of one seed plus the simulator settings derived from them. */
export interface SeedConfig {
  runtime: Omit<RuntimeOptions, 'instanceId'>;
  enabled: FaultType[];
  faultEveryMs: number;
  /** The store client's command timeout (ioredis commandTimeout). */
  commandTimeoutMs: number;
  dedupWindowMs: number;
  /** Feed classes a new token draws from: [mean ms between arrivals, burst size (0 = none)]. */
  feeds: readonly (readonly [number, number])[];
}

const DEFAULT_RUNTIME = runtimeTimings({});

/** Draws the seed's configuration: timings stay valid (renew < deadline < TTL), like config.ts. */
export function drawConfig(rng: Rng, options: SimOptions): SeedConfig {
  const lockTtlMs = pick(rng, [10_000, 15_000, 30_000, 30_000]);
  const renewDeadlineMs = Math.round(lockTtlMs * uniform(rng, 0.55, 0.9));
  const lockRenewMs = Math.round(renewDeadlineMs * uniform(rng, 0.25, 0.6));
  const backoffMaxMs = pick(rng, [5_000, 15_000, 30_000]);
  const runtime: Omit<RuntimeOptions, 'instanceId'> = {
    ...DEFAULT_RUNTIME, // a setting this seed does not draw keeps its default
    lockTtlMs,
    lockRenewMs,
    lockRetryMs: int(rng, 1_000, 5_000),
    renewDeadlineMs,
    instanceTtlMs: lockTtlMs * 2,
    drainTimeoutMs: int(rng, 5_000, 25_000),
    resyncMs: int(rng, 2_000, 10_000),
    handoffMode: options.handoffMode ?? (chance(rng, 0.8) ? 'overlap' : 'sequential'),
    connectTimeoutMs: pick(rng, [5_000, 10_000, 30_000]),
    backoffBaseMs: 500,
    backoffMaxMs,
    messageIdField: 'id',
    maxBufferedMessages: 10_000,
    handoffConfirmMs: int(rng, 1_000, 3_000),
    // Drawn from nothing: a single-mode seed draws exactly what it drew before sharding existed.
    ...((options.ownership ?? DEFAULT_RUNTIME.ownership) === 'sharded'
      ? { ownership: 'sharded' as const, joinDelayMs: 5_000, maxConcurrentTakeovers: 50 }
      : { ownership: 'single' as const }),
  };
  let enabled = options.faults.filter(() => chance(rng, options.swarm));
  if (enabled.length === 0 && options.faults.length > 0) enabled = [pick(rng, options.faults)];
  return {
    runtime,
    enabled,
    faultEveryMs: options.faultEverySec * 1000 * uniform(rng, 0.5, 1.5),
    commandTimeoutMs: 5_000,
    dedupWindowMs: 120_000,
    // From quiet to hot, plus a bursty feed (bursts are what make an owner's output lag).
    feeds: [
      [60_000, 0],
      [30_000, 0],
      [15_000, 0],
      [8_000, 0],
      [4_000, 0],
      [1_000, 0],
      [2_000, 0],
      [3_000, 20],
    ],
  };
}
