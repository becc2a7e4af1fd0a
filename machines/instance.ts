/**
 * The instance lifecycle: waiting -> leader -> draining -> released, with step-down back to
 * waiting. Pure definition: every actor, delay and effectful action is a named placeholder that
 * `src/runtime` binds with `.provide()`. Opens as-is in Stately's editor.
 */
import { assign, fromCallback, fromPromise, raise, setup } from 'xstate';

/**
 * What the acquire actor reports: the epoch won, or that someone else holds the lock (and, when
 * known, for how many more ms: a lock its holder stopped renewing can be retried as it expires).
 */
export type AcquireOutput =
  | { ok: true; epoch: number; sentAt: number }
  | { ok: false; lockTtl?: number; holder?: string };

/** What the renew actor reports; network failures reject instead. */
export type RenewOutput = { renewed: true; sentAt: number } | { renewed: false };

export type InstanceEvent =
  | { type: 'lock.released' } // hint: the lock was just released, try at once
  | { type: 'lease.extended' } // internal: a renewal succeeded
  | { type: 'lock.deposed'; epoch: number; sentAt: number } // the watch took a dead holder's lock
  | { type: 'shutdown' }; // SIGTERM / SIGINT

export interface InstanceContext {
  instanceId: string;
  /** Epoch of the lock while leader or draining, else null. */
  epoch: number | null;
  /** Monotonic clock time until which leadership is safe; set from the send time of each renewal. */
  leaseUntil: number;
  /** How long a successful renewal (or acquire) keeps the lease: RENEW_DEADLINE_MS. */
  renewDeadlineMs: number;
  /** Renewals that failed since the last success. */
  renewFailures: number;
  /** While waiting: ms the holder's lock had left at our last try, when the store said so. */
  lockTtl: number | null;
  /** While waiting: who held the lock at our last try (the presence watch follows it). */
  lockHolder: string | null;
}

export interface InstanceInput {
  instanceId: string;
  renewDeadlineMs: number;
}

const notProvided = (name: string) => () => {
  throw new Error(`instance machine: actor "${name}" was not provided`);
};

export const instanceMachine = setup({
  types: {
    context: {} as InstanceContext,
    input: {} as InstanceInput,
    events: {} as InstanceEvent,
  },
  actors: {
    /** Tries SET NX on the lock once. */
    acquireLock: fromPromise<AcquireOutput, { instanceId: string }>(notProvided('acquireLock')),
    /** Extends the lock at our epoch. */
    renewLock: fromPromise<RenewOutput, { epoch: number }>(notProvided('renewLock')),
    /** Runs while leader: reconciles desired state against listener actors on hints and RESYNC. */
    reconcile: fromCallback<{ type: string }, { epoch: number }>(() => undefined),
    /** While waiting: watches the holder's presence; sends `lock.deposed` once it took the lock. */
    watchHolder: fromCallback<InstanceEvent, { holder: string | null }>(() => undefined),
    /** Step-down: stops every listener at once (before the lock could expire). */
    stopListeners: fromPromise<void, { epoch: number | null }>(notProvided('stopListeners')),
    /** Draining: marks us draining, releases the lock, hints, waits for successors to claim. */
    drain: fromPromise<void, { epoch: number }>(notProvided('drain')),
    /** Final cleanup: stop listeners, release ownership and the lock if held, unregister. */
    finalize: fromPromise<void, { epoch: number | null }>(notProvided('finalize')),
  },
  delays: {
    // Contract defaults, so the machine reads right on its own; the runtime provides real values.
    // LOCK_RETRY: never longer than this, sooner when the holder's lock expires before then.
    LOCK_RETRY: ({ context }) => Math.min(5_000, context.lockTtl ?? 5_000),
    LOCK_RENEW: 15_000,
    RENEW_RETRY: 3_000,
    LEASE_REMAINING: ({ context }) => context.renewDeadlineMs,
    DRAIN_TIMEOUT: 25_000,
  },
  guards: {
    acquired: (_, output: AcquireOutput) => output.ok,
    renewed: (_, output: RenewOutput) => output.renewed,
  },
  actions: {
    /** Observability hooks; the runtime provides them (logs, metrics, registry role). */
    onLeader: () => undefined,
    onStepDown: () => undefined,
    onRenewFailed: () => undefined,
    onReconcileFailed: () => undefined,
  },
}).createMachine({
  id: 'instance',
  context: ({ input }) => ({
    instanceId: input.instanceId,
    epoch: null,
    leaseUntil: 0,
    renewDeadlineMs: input.renewDeadlineMs,
    renewFailures: 0,
    lockTtl: null,
    lockHolder: null,
  }),
  initial: 'waiting',
  states: {
    waiting: {
      initial: 'trying',
      on: { shutdown: 'finalizing' },
      states: {
        trying: {
          invoke: {
            src: 'acquireLock',
            input: ({ context }) => ({ instanceId: context.instanceId }),
            onDone: [
              {
                guard: { type: 'acquired', params: ({ event }) => event.output },
                target: '#instance.leader',
                actions: assign(({ event, context }) =>
                  event.output.ok
                    ? {
                        epoch: event.output.epoch,
                        leaseUntil: event.output.sentAt + context.renewDeadlineMs,
                        renewFailures: 0,
                        lockTtl: null,
                        lockHolder: null,
                      }
                    : {},
                ),
              },
              {
                target: 'idle',
                actions: assign(({ event }) =>
                  event.output.ok
                    ? {}
                    : {
                        lockTtl: event.output.lockTtl ?? null,
                        lockHolder: event.output.holder ?? null,
                      },
                ),
              },
            ],
            // The store is unreachable: keep watching the last holder we saw (its reads fail too).
            onError: { target: 'idle', actions: assign({ lockTtl: null }) },
          },
        },
        idle: {
          after: { LOCK_RETRY: 'trying' },
          invoke: {
            src: 'watchHolder',
            input: ({ context }) => ({ holder: context.lockHolder }),
          },
          on: {
            'lock.released': 'trying',
            'lock.deposed': {
              target: '#instance.leader',
              actions: assign(({ event, context }) => ({
                epoch: event.epoch,
                leaseUntil: event.sentAt + context.renewDeadlineMs,
                renewFailures: 0,
                lockTtl: null,
                lockHolder: null,
              })),
            },
          },
        },
      },
    },
    leader: {
      type: 'parallel',
      entry: 'onLeader',
      on: { shutdown: 'draining' },
      invoke: {
        src: 'reconcile',
        input: ({ context }) => ({ epoch: context.epoch! }),
        // The controller loop died (a bug, not a store error: those it retries itself). Leading
        // without it would leave desired state unapplied, so give up the lock the safe way.
        onError: { target: '#instance.steppingDown', actions: 'onReconcileFailed' },
      },
      states: {
        renewal: {
          initial: 'idle',
          states: {
            idle: { after: { LOCK_RENEW: 'renewing' } },
            renewing: {
              invoke: {
                src: 'renewLock',
                input: ({ context }) => ({ epoch: context.epoch! }),
                onDone: [
                  {
                    guard: { type: 'renewed', params: ({ event }) => event.output },
                    target: 'idle',
                    actions: [
                      assign(({ event, context }) =>
                        event.output.renewed
                          ? {
                              leaseUntil: event.output.sentAt + context.renewDeadlineMs,
                              renewFailures: 0,
                            }
                          : {},
                      ),
                      raise({ type: 'lease.extended' }),
                    ],
                  },
                  // The lock is gone or belongs to another epoch: stop acting at once.
                  { target: '#instance.steppingDown' },
                ],
                onError: {
                  target: 'retrying',
                  actions: [
                    assign({ renewFailures: ({ context }) => context.renewFailures + 1 }),
                    'onRenewFailed',
                  ],
                },
              },
            },
            retrying: { after: { RENEW_RETRY: 'renewing' } },
          },
        },
        lease: {
          initial: 'valid',
          states: {
            // Re-entered on every successful renewal, which restarts the deadline timer.
            valid: {
              after: { LEASE_REMAINING: '#instance.steppingDown' },
              on: { 'lease.extended': { target: 'valid', reenter: true } },
            },
          },
        },
      },
    },
    steppingDown: {
      entry: 'onStepDown',
      on: { shutdown: 'finalizing' },
      invoke: {
        src: 'stopListeners',
        input: ({ context }) => ({ epoch: context.epoch }),
        onDone: { target: 'waiting', actions: assign({ epoch: null }) },
        onError: { target: 'waiting', actions: assign({ epoch: null }) },
      },
    },
    draining: {
      invoke: {
        src: 'drain',
        input: ({ context }) => ({ epoch: context.epoch! }),
        onDone: 'finalizing',
        onError: 'finalizing',
      },
      after: { DRAIN_TIMEOUT: 'finalizing' },
    },
    finalizing: {
      invoke: {
        src: 'finalize',
        input: ({ context }) => ({ epoch: context.epoch }),
        onDone: 'released',
        onError: 'released',
      },
    },
    released: { type: 'final' },
  },
});

/** The instance machine's type, for code that wraps or re-provides it. */
export type InstanceMachine = typeof instanceMachine;

/** The registry role an instance reports for each top-level state. */
export function roleOf(state: string): 'waiting' | 'leader' | 'draining' | 'released' {
  if (state === 'leader' || state === 'draining') return state;
  if (state === 'finalizing' || state === 'released') return 'released';
  return 'waiting';
}
