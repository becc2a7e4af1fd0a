/**
 * The planted-bug canaries by name: what each one breaks and where it is planted. Store-side bugs
 * are a variant of the store (sim/store.ts); runtime-side bugs wrap or replace an implementation
 * of the runtime's machines through `RuntimeDeps.machines`, from here, so the production code
 * holds no bug switches. The canary tests and `npm run sim -- --bug <name>` use these to prove
 * the invariants catch each one.
 */
import { type AnyActorLogic, createActor, fromPromise, toPromise } from 'xstate';
import type { AcquireOutput, InstanceMachine, RenewOutput } from '../machines/instance.js';
import type { ClaimInput } from '../machines/listener.js';
import type { RuntimePlant, SimOptions } from './scenario.js';

/**
 * A promise actor that runs `logic` (the runtime's own implementation) with its input and output
 * passed through `map`; stopping the wrapper stops the inner actor, so aborts still reach it.
 */
function around<I, O>(
  logic: AnyActorLogic,
  map: { input?: (input: I) => I; output?: (output: O) => O },
) {
  return fromPromise<O, I>(async ({ input, signal }) => {
    const inner = createActor(logic, { input: map.input ? map.input(input) : input });
    signal.addEventListener('abort', () => inner.stop());
    inner.start();
    const output = (await toPromise(inner)) as O;
    return map.output ? map.output(output) : output;
  });
}

/** (c) Step-down leaves the listeners running (it still frees the lock, as the real one does). */
const keepListenersOnStepDown: RuntimePlant = ({ instanceId, store }) => ({
  instance: (m) =>
    m.provide({
      actors: {
        stopListeners: fromPromise<void, { epoch: number | null }>(async ({ input }) => {
          if (input.epoch !== null)
            void store.releaseLock(instanceId, input.epoch).catch(() => undefined);
        }),
      },
    }),
});

/** Instance-machine overrides that pass the lock calls' (acquire, renew) input and output through `map`. */
function aroundLockCalls(map: {
  input?: <I>(input: I) => I;
  output: <O extends object>(o: O) => O;
}) {
  return {
    instance: (m: InstanceMachine) =>
      m.provide({
        actors: {
          acquireLock: around<{ instanceId: string }, AcquireOutput>(
            m.implementations.actors.acquireLock as AnyActorLogic,
            map,
          ),
          renewLock: around<{ epoch: number }, RenewOutput>(
            m.implementations.actors.renewLock as AnyActorLogic,
            map,
          ),
        },
      }),
  };
}

/** (d) The lease is measured from the reply's receipt instead of the request's send time. */
const leaseFromReply: RuntimePlant = ({ clock }) =>
  aroundLockCalls({
    output: (output) => ('sentAt' in output ? { ...output, sentAt: clock.monotonic() } : output),
  });

/**
 * (f) The lease is judged on the wall clock: its remaining time is the wall-clock send time plus
 * the deadline minus the wall clock now, so a wall-clock step backwards during a renewal extends
 * it. (Expressed on the runtime's monotonic timeline: the send time moves by the step.)
 */
const leaseOnWallClock: RuntimePlant = ({ clock }) => {
  const wallOffset = () => clock.now() - clock.monotonic();
  let offsetAtSend = 0;
  return aroundLockCalls({
    input: (input) => {
      offsetAtSend = wallOffset();
      return input;
    },
    output: (output) =>
      'sentAt' in output
        ? { ...output, sentAt: (output.sentAt as number) + offsetAtSend - wallOffset() }
        : output,
  });
};

/** (e) The overlap takeover claims at once, without waiting for the old owner's output. */
const claimWithoutConfirm: RuntimePlant = () => ({
  listener: (m) =>
    m.provide({
      actors: {
        claim: around(m.implementations.actors.claim as AnyActorLogic, {
          input: (input: ClaimInput): ClaimInput => ({ ...input, handoff: false }),
        }),
      },
    }),
});

/**
 * (i) An upstream reconnect forgets the messages received and not yet emitted: the backoff entry
 * action that keeps them (`suspendSession`) does what `closeSession` does when the actor ends.
 */
const forgetBufferOnReconnect: RuntimePlant = () => ({
  listener: (m) => {
    const close = m.implementations.actions.closeSession as (...args: unknown[]) => void;
    return m.provide({ actions: { suspendSession: (...args) => close(...args) } });
  },
});

/**
 * (l) A listener stopped with the fence held (step-down, shutdown) forgets what it received and
 * had not emitted: the stop's flush (`flushSession`) does what `closeSession` does.
 */
const forgetBufferOnStop: RuntimePlant = () => ({
  listener: (m) => {
    const close = m.implementations.actions.closeSession as (...args: unknown[]) => void;
    return m.provide({ actions: { flushSession: (...args) => close(...args) } });
  },
});

/** Every canary: its store-side bugs or runtime-side plants. */
export const PLANTED_BUGS = {
  /** (a) The sink appends whatever fence the writer names. */
  'sink-no-fence': { storeBugs: { noFenceCheck: true } },
  /** (b) Lock and ownership release without compare-and-set on the holder. */
  'release-no-compare': { storeBugs: { releaseWithoutCompare: true } },
  /**
   * (c) A leader that steps down keeps its listeners running. Single mode only: sharded, a
   * non-leader runs its share by design (its fences guard it, not its role).
   */
  'keep-ownership': { runtimePlants: [keepListenersOnStepDown], ownership: 'single' },
  /** (d) The lease is measured from the reply's receipt, not the request's send time. */
  'lease-from-reply': { runtimePlants: [leaseFromReply] },
  /** (e) The overlap takeover claims without waiting for the old owner's output. */
  'claim-no-confirm': { runtimePlants: [claimWithoutConfirm] },
  /** (f) The lease is judged on the wall clock, so a step backwards extends it. */
  'lease-on-wall-clock': { runtimePlants: [leaseOnWallClock] },
  /** (g) Sharded: a claim succeeds without the claimer being the assignee. */
  'claim-no-assignee': { storeBugs: { claimWithoutAssignee: true }, ownership: 'sharded' },
  /** (h) Sharded: a plan is stored without the lock check at the writer's epoch. */
  'plan-no-epoch': { storeBugs: { planWithoutEpoch: true }, ownership: 'sharded' },
  /** (i) An upstream reconnect forgets the received messages not yet emitted. */
  'forget-buffer-on-reconnect': { runtimePlants: [forgetBufferOnReconnect] },
  /** (j) The ownership log records a claim's `from` after writing the new owner. */
  'log-from-after-write': { storeBugs: { logFromAfterWrite: true } },
  /** (k) Sharded: the state version never moves, so every resync pass reuses a stale read. */
  'version-stuck': { storeBugs: { versionStuck: true }, ownership: 'sharded' },
  /** (l) A stop with the fence held forgets the received, unemitted messages. */
  'forget-buffer-on-stop': { runtimePlants: [forgetBufferOnStop] },
} as const satisfies Record<string, Pick<SimOptions, 'storeBugs' | 'runtimePlants' | 'ownership'>>;

export type PlantedBugName = keyof typeof PLANTED_BUGS;

/** Whether `name` names a canary (for the CLI's `--bug`). */
export function isPlantedBug(name: string): name is PlantedBugName {
  return Object.hasOwn(PLANTED_BUGS, name);
}

/** `options` with the named bugs planted (their store and runtime parts merged). */
export function withBugs(options: SimOptions, names: readonly PlantedBugName[]): SimOptions {
  let out = options;
  for (const name of names) {
    const bug: Pick<SimOptions, 'storeBugs' | 'runtimePlants' | 'ownership'> = PLANTED_BUGS[name];
    out = {
      ...out,
      ...(bug.ownership ? { ownership: bug.ownership } : {}),
      ...(bug.storeBugs ? { storeBugs: { ...out.storeBugs, ...bug.storeBugs } } : {}),
      ...(bug.runtimePlants
        ? { runtimePlants: [...(out.runtimePlants ?? []), ...bug.runtimePlants] }
        : {}),
    };
  }
  return out;
}
