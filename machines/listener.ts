/**
 * One upstream listener: claim ownership (fence bump), connect, run live, back off and reconnect,
 * stop. The overlap handoff path (`warming`) connects and buffers first and claims after, so the
 * previous owner keeps emitting until the fence moves. Pure definition; `src/runtime` provides
 * the actors (store claim, upstream connect), the delays and the session actions.
 */
import { assign, fromPromise, setup } from 'xstate';

/** What the claim actor reports. Network failures reject instead (then we back off and retry). */
export type ClaimOutput = { ok: true; fence: number } | { ok: false; code: string };

export interface ClaimInput {
  listenerId: string;
  /** The owner we expect to replace: null = unowned, undefined = no check. */
  expectedOwner: string | null | undefined;
  /** True on the overlap path: wait (bounded) until the old owner's output caught up with ours. */
  handoff: boolean;
}

export interface ConnectInput {
  listenerId: string;
  /** Our fence when we already own the listener (messages may be emitted as they arrive). */
  fence?: number | null;
}

export type ListenerEvent =
  /** `flush`: we may still hold the fence (step-down, shutdown): emit what was received first. */
  | { type: 'listener.stop'; flush?: boolean }
  | { type: 'ownership.lost' }
  | { type: 'upstream.closed'; code: string; message: string; fatal?: boolean };

export interface ListenerContext {
  listenerId: string;
  generation: number;
  expectedOwner: string | null | undefined;
  overlap: boolean;
  fence: number | null;
  /** Connect attempts since a session last stayed open for BACKOFF_RESET (a flapping one counts). */
  attempts: number;
  lastError: string | null;
  /** The last failure says retrying soon is pointless (e.g. 401): back off to the cap. */
  fatal: boolean;
}

export interface ListenerInput {
  listenerId: string;
  generation: number;
  expectedOwner?: string | null;
  /** Take over from a live, draining owner make-before-break. */
  overlap?: boolean;
}

/** Reads a failure out of an actor error or an `upstream.closed` event, without importing src/. */
export function describeFailure(error: unknown): { lastError: string; fatal: boolean } {
  const failure =
    (error as { failure?: { code?: string; message?: string; fatal?: boolean } })?.failure ??
    (error as { code?: string; message?: string; fatal?: boolean });
  const code = typeof failure?.code === 'string' ? failure.code : 'ERROR';
  const message = typeof failure?.message === 'string' ? failure.message : String(error);
  return { lastError: `${code}: ${message}`, fatal: failure?.fatal === true };
}

const notProvided = (name: string) => () => {
  throw new Error(`listener machine: actor "${name}" was not provided`);
};

export const listenerMachine = setup({
  types: {
    context: {} as ListenerContext,
    input: {} as ListenerInput,
    events: {} as ListenerEvent,
  },
  actors: {
    claim: fromPromise<ClaimOutput, ClaimInput>(notProvided('claim')),
    /** Opens the upstream session; messages flow into the session's buffer until emitting starts. */
    connect: fromPromise<void, ConnectInput>(notProvided('connect')),
  },
  delays: {
    CONNECT_TIMEOUT: 30_000,
    BACKOFF_RESET: 30_000,
    BACKOFF: ({ context }) =>
      context.fatal ? 30_000 : Math.min(30_000, 500 * 2 ** context.attempts),
  },
  guards: {
    overlapHandoff: ({ context }) => context.overlap,
    flushRequested: ({ event }) => event.type === 'listener.stop' && event.flush === true,
    claimed: (_, output: ClaimOutput) => output.ok,
  },
  actions: {
    /**
     * Closes the upstream session if one is open (idempotent), forgetting what it buffered
     * (unless `flushSession` already took the session over).
     */
    closeSession: () => undefined,
    /** Closes the upstream session but keeps what it received, still emitted at our fence. */
    suspendSession: () => undefined,
    /**
     * Stopping for good while the fence may still be ours: closes the upstream session at once
     * and emits, bounded, what it received before it is forgotten (`closeSession` leaves it).
     */
    flushSession: () => undefined,
    /** Starts emitting at our fence, flushing whatever was buffered first. */
    startEmitting: (_, _params: { fence: number }) => undefined,
  },
}).createMachine({
  id: 'listener',
  context: ({ input }) => ({
    listenerId: input.listenerId,
    generation: input.generation,
    expectedOwner: input.expectedOwner,
    overlap: input.overlap ?? false,
    fence: null,
    attempts: 0,
    lastError: null,
    fatal: false,
  }),
  initial: 'start',
  on: {
    'listener.stop': [
      { guard: 'flushRequested', target: '.stopped', actions: 'flushSession' },
      { target: '.stopped' },
    ],
    'ownership.lost': { target: '.stopped', actions: assign({ lastError: 'OWNERSHIP_LOST' }) },
  },
  states: {
    start: {
      always: [{ guard: 'overlapHandoff', target: 'warming' }, { target: 'claiming' }],
    },
    claiming: {
      entry: 'closeSession',
      invoke: {
        src: 'claim',
        input: ({ context }) => ({
          listenerId: context.listenerId,
          expectedOwner: context.expectedOwner,
          handoff: false,
        }),
        onDone: [
          {
            guard: { type: 'claimed', params: ({ event }) => event.output },
            target: 'owned',
            actions: assign({
              fence: ({ event }) => (event.output.ok ? event.output.fence : null),
            }),
          },
          {
            target: 'stopped',
            actions: assign({
              lastError: ({ event }) =>
                event.output.ok ? null : `CLAIM_REFUSED: ${event.output.code}`,
            }),
          },
        ],
        onError: {
          target: 'claimBackoff',
          actions: assign(({ event, context }) => ({
            ...describeFailure(event.error),
            attempts: context.attempts + 1,
          })),
        },
      },
    },
    claimBackoff: {
      entry: 'closeSession',
      after: { BACKOFF: 'claiming' },
    },
    // Overlap handoff: connected and buffering while the old owner still emits; claim, then live.
    warming: {
      initial: 'connecting',
      on: {
        'upstream.closed': {
          target: 'claiming',
          actions: assign(({ event }) => describeFailure(event)),
        },
      },
      states: {
        connecting: {
          invoke: {
            src: 'connect',
            input: ({ context }) => ({ listenerId: context.listenerId }),
            onDone: 'claiming',
            // Could not connect alongside the old owner: fall back to claim-first.
            onError: {
              target: '#listener.claiming',
              actions: assign(({ event }) => describeFailure(event.error)),
            },
          },
          after: {
            CONNECT_TIMEOUT: {
              target: '#listener.claiming',
              actions: assign({ lastError: 'CONNECT_TIMEOUT: upstream handshake timed out' }),
            },
          },
        },
        claiming: {
          invoke: {
            src: 'claim',
            input: ({ context }) => ({
              listenerId: context.listenerId,
              expectedOwner: context.expectedOwner,
              handoff: true,
            }),
            onDone: [
              {
                guard: { type: 'claimed', params: ({ event }) => event.output },
                target: '#listener.owned.live',
                actions: assign({
                  fence: ({ event }) => (event.output.ok ? event.output.fence : null),
                }),
              },
              {
                target: '#listener.stopped',
                actions: assign({
                  lastError: ({ event }) =>
                    event.output.ok ? null : `CLAIM_REFUSED: ${event.output.code}`,
                }),
              },
            ],
            onError: {
              target: '#listener.claimBackoff',
              actions: assign(({ event }) => describeFailure(event.error)),
            },
          },
        },
      },
    },
    owned: {
      initial: 'connecting',
      states: {
        connecting: {
          entry: assign({ attempts: ({ context }) => context.attempts + 1 }),
          invoke: {
            src: 'connect',
            input: ({ context }) => ({ listenerId: context.listenerId, fence: context.fence }),
            onDone: 'live',
            onError: {
              target: 'backoff',
              actions: assign(({ event }) => describeFailure(event.error)),
            },
          },
          // The seed's open bug: a handshake that hangs is abandoned, never waited on for 30 min.
          after: {
            CONNECT_TIMEOUT: {
              target: 'backoff',
              actions: assign({
                lastError: 'CONNECT_TIMEOUT: upstream handshake timed out',
                fatal: false,
              }),
            },
          },
        },
        live: {
          entry: [
            assign({ lastError: null, fatal: false }),
            { type: 'startEmitting', params: ({ context }) => ({ fence: context.fence! }) },
          ],
          // Only a session that stays up counts as recovery: one that the upstream accepts and
          // drops at once must keep backing off, not reconnect in a hot loop.
          after: { BACKOFF_RESET: { actions: assign({ attempts: 0 }) } },
          on: {
            'upstream.closed': {
              target: 'backoff',
              actions: assign(({ event }) => describeFailure(event)),
            },
          },
        },
        backoff: {
          entry: 'suspendSession',
          after: { BACKOFF: 'connecting' },
        },
      },
    },
    stopped: {
      type: 'final',
      entry: 'closeSession',
    },
  },
});

/** The listener machine's type, for code that wraps or re-provides it. */
export type ListenerMachine = typeof listenerMachine;

/** Flattens a listener state value into the name mirrored into `listener_status`. */
export function listenerStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value as Record<string, unknown>)[0] ?? ['unknown', ''];
  if (parent === 'owned') return String(child);
  return `${parent}.${String(child)}`;
}
