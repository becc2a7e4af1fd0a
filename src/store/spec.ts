/**
 * The one declared order of checks of every store operation that can refuse. Each check names
 * the refusal it produces when it fails; an operation runs its checks in this order and answers
 * the first failure (a later check is not evaluated), and only when all pass does it change state.
 * The Lua scripts list their refusal codes in this order in their headers (a test compares them),
 * MemoryState runs its checks through `firstRefusal`, and the contract suite has one test per
 * declared refusal. Batch operations apply the checks to each request on its own, in order.
 * Prose: docs/store-spec.md.
 */
import type { LuaCodeName } from './refusals.js';
import type { StoreOperation } from './types.js';

/** One check of an operation: the refusal it answers and, in words, when it fails. */
export interface SpecCheck {
  readonly code: LuaCodeName;
  readonly failsWhen: string;
}

/** An operation's Lua script (file name without `-<numKeys>.lua`) and its ordered checks. */
export interface OperationSpec {
  readonly script: string;
  readonly checks: readonly SpecCheck[];
}

const lockChecks = [
  { code: 'NOT_HOLDER', failsWhen: 'the caller does not hold the lock (free, expired, another)' },
  { code: 'STALE_EPOCH', failsWhen: 'the caller holds the lock, but at another epoch' },
] as const;

/** The spec table: operation -> script and ordered checks. Operations not listed never refuse. */
export const storeSpec = {
  acquireLock: {
    script: 'acquire-lock',
    checks: [{ code: 'HELD', failsWhen: 'another instance holds a live lock' }],
  },
  renewLock: { script: 'renew-lock', checks: lockChecks },
  releaseLock: { script: 'release-lock', checks: lockChecks },
  deposeLock: {
    script: 'depose-lock',
    checks: [
      {
        code: 'NOT_HOLDER',
        failsWhen: 'the named holder does not hold the lock (free, expired, another)',
      },
      { code: 'PRESENT', failsWhen: "the holder's presence channel has a subscriber" },
    ],
  },
  heartbeatInstance: {
    script: 'heartbeat-instance',
    checks: [{ code: 'NOT_REGISTERED', failsWhen: 'the entry expired or was never written' }],
  },
  setDesired: {
    script: 'set-desired',
    checks: [{ code: 'NOT_DESIRED', failsWhen: 'no token is given (restart) and none is stored' }],
  },
  claimListeners: {
    script: 'claim-listeners',
    checks: [
      {
        code: 'NOT_HOLDER',
        failsWhen: 'no assignment is named and the caller does not hold the lock',
      },
      { code: 'STALE_EPOCH', failsWhen: 'no assignment is named and the lock is at another epoch' },
      {
        code: 'NOT_ASSIGNED',
        failsWhen: 'an assignment is named and the listener is not assigned to the caller',
      },
      {
        code: 'STALE_ASSIGNMENT',
        failsWhen: 'the named assignment generation is older than the listener assignment',
      },
      { code: 'NOT_DESIRED', failsWhen: 'the listener has no token' },
      { code: 'OWNER_CHANGED', failsWhen: 'an expected owner is given and is not the owner' },
      {
        code: 'NOT_CAUGHT_UP',
        failsWhen: 'a non-empty afterEmitted was not emitted for it within the dedup window',
      },
    ],
  },
  writeAssignments: { script: 'write-assignments', checks: lockChecks },
  releaseListener: {
    script: 'release-listener',
    checks: [{ code: 'NOT_HOLDER', failsWhen: 'the caller does not own the listener' }],
  },
  writeStatuses: {
    script: 'write-statuses',
    checks: [{ code: 'STALE_FENCE', failsWhen: "the status's fence is below the current fence" }],
  },
  emitMany: {
    script: 'emit',
    checks: [
      {
        code: 'STALE_FENCE',
        failsWhen: 'the writer is not the owner, or not at the current fence (result: stale)',
      },
      {
        code: 'DUPLICATE',
        failsWhen: 'a non-empty msg id was emitted for it within the window (result: duplicate)',
      },
    ],
  },
} as const satisfies Partial<Record<StoreOperation, OperationSpec>>;

/** An operation the spec lists. */
export type SpecifiedOperation = keyof typeof storeSpec;

/** The refusal codes an operation declares. */
export type SpecCode<Op extends SpecifiedOperation> =
  (typeof storeSpec)[Op]['checks'][number]['code'];

/**
 * Runs an operation's checks in the declared order: `fails[code]()` is true when that check
 * fails. Answers the first failing check's code, or null when every check passes.
 */
export function firstRefusal<Op extends SpecifiedOperation>(
  op: Op,
  fails: { readonly [C in SpecCode<Op>]: () => boolean },
): SpecCode<Op> | null {
  for (const check of storeSpec[op].checks as readonly SpecCheck[]) {
    const code = check.code as SpecCode<Op>;
    if (fails[code]()) return code;
  }
  return null;
}
