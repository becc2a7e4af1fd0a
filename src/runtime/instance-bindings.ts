/**
 * Binds the instance machine's placeholders (machines/instance.ts) to this process: the lock
 * calls on the store, the reconcile loop, step-down, drain and finalize, the configured delays and
 * the logs and metrics of each transition. The runtime only creates the actor from the result.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { AcquireOutput, InstanceEvent, InstanceMachine } from '../../machines/instance.js';
import { instanceMachine } from '../../machines/instance.js';
import type { Clock } from '../clock.js';
import { LOG_EVENTS, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Rng } from '../rng.js';
import type { CoordinationStore } from '../store/types.js';
import { holderWatch } from './presence-watch.js';
import type { RuntimeOptions } from './runtime.js';

/** What the instance machine's implementations act on. */
export interface InstanceBindings {
  options: Pick<
    RuntimeOptions,
    | 'instanceId'
    | 'lockTtlMs'
    | 'lockRetryMs'
    | 'lockRenewMs'
    | 'drainTimeoutMs'
    | 'presenceGraceMs'
  >;
  store: CoordinationStore;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** The leader's reconcile loop, run for as long as the machine is in `leader`. */
  leadership: { begin(epoch: number): void; end(): void; holderDeposed?(holder: string): void };
  /**
   * Stops every listener actor (step-down): sockets close at once, what they received is still
   * emitted in the background, bounded and fenced.
   */
  stopListeners(): void;
  drain(epoch: number, signal: AbortSignal): Promise<void>;
  finalize(epoch: number | null): Promise<void>;
}

type WatchArgs = { input: { holder: string | null }; sendBack: (event: InstanceEvent) => void };

/** Spread of the retries waiting instances make as the holder's lock expires. */
const LOCK_EXPIRY_JITTER_MS = 20;

/** The instance machine with every actor, delay and action bound to `b`. */
export function bindInstanceMachine(b: InstanceBindings): InstanceMachine {
  const { options, store, clock, logger, metrics } = b;
  const { instanceId } = options;
  const watch = holderWatch({
    store,
    clock,
    logger,
    instanceId,
    graceMs: options.presenceGraceMs ?? 0,
    lockTtlMs: options.lockTtlMs,
    deposed: (holder) => b.leadership.holderDeposed?.(holder),
  });
  return instanceMachine.provide({
    actors: {
      acquireLock: fromPromise(async (): Promise<AcquireOutput> => {
        // The lease counts from the send: the lock was granted no earlier than this.
        const sentAt = clock.monotonic();
        const result = await store.acquireLock(instanceId, options.lockTtlMs);
        return result.ok
          ? { ok: true, epoch: result.epoch, sentAt }
          : { ok: false, lockTtl: result.ttl, holder: result.holder };
      }),
      renewLock: fromPromise(async ({ input }: { input: { epoch: number } }) => {
        const sentAt = clock.monotonic();
        const result = await store.renewLock(instanceId, input.epoch, options.lockTtlMs);
        return result.ok ? { renewed: true as const, sentAt } : { renewed: false as const };
      }),
      watchHolder: fromCallback(({ input, sendBack }: WatchArgs) => watch(input.holder, sendBack)),
      reconcile: fromCallback(({ input }: { input: { epoch: number } }) => {
        b.leadership.begin(input.epoch);
        return () => b.leadership.end();
      }),
      stopListeners: fromPromise(async ({ input }: { input: { epoch: number | null } }) => {
        b.stopListeners();
        // Best effort: free the lock for a successor now rather than at its TTL.
        if (input.epoch !== null)
          void store.releaseLock(instanceId, input.epoch).catch(() => undefined);
      }),
      drain: fromPromise(({ input, signal }: { input: { epoch: number }; signal: AbortSignal }) =>
        b.drain(input.epoch, signal),
      ),
      finalize: fromPromise(({ input }: { input: { epoch: number | null } }) =>
        b.finalize(input.epoch),
      ),
    },
    delays: {
      // A holder that stopped renewing (crashed, paused) loses the lock when its TTL runs out:
      // try right then, not up to LOCK_RETRY_MS later. A few ms of jitter so waiting instances
      // don't all try in the same millisecond (SET NX lets one win anyway).
      LOCK_RETRY: ({ context }) =>
        context.lockTtl === null || context.lockTtl < 0 || context.lockTtl >= options.lockRetryMs
          ? options.lockRetryMs
          : context.lockTtl + 1 + Math.floor(b.rng.next() * LOCK_EXPIRY_JITTER_MS),
      LOCK_RENEW: options.lockRenewMs,
      RENEW_RETRY: Math.max(1, Math.floor(Math.min(options.lockRetryMs, options.lockRenewMs) / 5)),
      LEASE_REMAINING: ({ context }) => Math.max(0, context.leaseUntil - clock.monotonic()),
      // The drain phase leaves a tenth of the budget for finalizing (release, unregister).
      DRAIN_TIMEOUT: Math.floor(options.drainTimeoutMs * 0.9),
    },
    actions: {
      onLeader: ({ context }) => {
        logger.info({ event: LOG_EVENTS.lockAcquired, epoch: context.epoch }, 'became leader');
        metrics?.leader.set(1);
        metrics?.leaderEpoch.set(context.epoch ?? 0);
      },
      onStepDown: ({ context }) => {
        logger.warn(
          {
            event: LOG_EVENTS.lockStepDown,
            epoch: context.epoch,
            renew_failures: context.renewFailures,
          },
          'stepping down: stopping every listener before the lock can expire',
        );
        metrics?.leader.set(0);
      },
      onRenewFailed: ({ context }) => {
        logger.warn(
          { event: LOG_EVENTS.lockRenewFailed, failures: context.renewFailures },
          'lock renewal failed',
        );
        metrics?.lockRenewFailures.inc();
      },
      onReconcileFailed: ({ event }) => {
        logger.error(
          { event: LOG_EVENTS.reconcileRun, err: (event as { error?: unknown }).error },
          'reconcile loop failed: stepping down',
        );
      },
    },
  });
}
