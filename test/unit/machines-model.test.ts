/**
 * Model-based tests: every simple path of each machine (xstate/graph), with the events of invoked
 * actors and delays enumerated per state, replayed on the machine as the runtime provides it,
 * with fake actors that the test resolves or rejects and a manual clock that never moves on its
 * own. A path passes when the real actor reaches the state the model predicted.
 */
import { describe, expect, it } from 'vitest';
import {
  type AnyActorLogic,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  createActor,
  type EventObject,
  fromCallback,
  fromPromise,
  getStateNodes,
} from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { instanceMachine } from '../../machines/instance.js';
import { listenerMachine } from '../../machines/listener.js';
import { ManualClock, toXStateClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log.js';
import { seededRng } from '../../src/rng.js';
import { BatonRuntime } from '../../src/runtime/runtime.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { UpstreamConnector } from '../../src/upstream/types.js';
import { FAST } from '../support/nodes.js';

/** Representative outputs per promise actor (each one becomes its own done event). */
const OUTPUTS: Record<string, unknown[]> = {
  acquireLock: [{ ok: true, epoch: 7, sentAt: 0 }, { ok: false }],
  renewLock: [{ renewed: true, sentAt: 0 }, { renewed: false }],
  stopListeners: [undefined],
  drain: [undefined],
  finalize: [undefined],
  claim: [
    { ok: true, fence: 3 },
    { ok: false, code: 'OWNER_CHANGED' },
  ],
  connect: [undefined],
};

/** Callback actors: they never finish, but can fail (a throw), so only an error event is modelled. */
const CALLBACKS = new Set(['reconcile']);

const USER_EVENTS: Record<string, EventObject[]> = {
  instance: [{ type: 'shutdown' }, { type: 'lock.released' }],
  listener: [
    { type: 'listener.stop' },
    { type: 'ownership.lost' },
    { type: 'upstream.closed', code: 'UPSTREAM_CLOSED', message: 'closed by peer' } as EventObject,
  ],
};

interface InvokeDef {
  id: string;
  src: string | AnyActorLogic;
}

/** Every event that can happen in `snapshot`: user events, actor done/error, delays. */
function eventsFor(machineId: string) {
  return (snapshot: AnyMachineSnapshot): EventObject[] => {
    const events: EventObject[] = [...(USER_EVENTS[machineId] ?? [])];
    for (const node of getStateNodes(snapshot.machine.root, snapshot.value)) {
      for (const inv of node.invoke as InvokeDef[]) {
        const src = typeof inv.src === 'string' ? inv.src : '';
        for (const output of OUTPUTS[src] ?? []) {
          events.push({ type: `xstate.done.actor.${inv.id}`, output } as EventObject);
        }
        if (OUTPUTS[src] || CALLBACKS.has(src))
          events.push({
            type: `xstate.error.actor.${inv.id}`,
            error: new Error('io'),
          } as EventObject);
      }
      for (const delayed of node.after) events.push({ type: delayed.eventType });
    }
    return events;
  };
}

/** Fake promise actors: each invocation waits until the test settles it. */
class FakeActors {
  private readonly pending = new Map<
    string,
    { resolve(v: unknown): void; reject(e: unknown): void }
  >();
  private readonly callbacks = new Set<string>();

  provide(names: string[]) {
    const actors: Record<string, AnyActorLogic> = {};
    for (const name of names) {
      actors[name] = fromPromise(
        ({ self }) =>
          new Promise((resolve, reject) => {
            this.pending.set(self.id, { resolve, reject });
          }),
      );
    }
    actors.reconcile = fromCallback(({ self }) => {
      this.callbacks.add(self.id);
      return () => this.callbacks.delete(self.id);
    });
    return actors;
  }

  /** Whether `invokeId` is a running callback actor (its error is delivered as an event). */
  isCallback(invokeId: string): boolean {
    return this.callbacks.has(invokeId);
  }

  settle(invokeId: string, event: EventObject & { output?: unknown; error?: unknown }) {
    const waiting = this.pending.get(invokeId);
    if (!waiting) throw new Error(`no pending actor ${invokeId}`);
    this.pending.delete(invokeId);
    if (event.type.startsWith('xstate.done.actor.')) waiting.resolve(event.output);
    else waiting.reject(event.error);
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

async function replay(
  machine: AnyStateMachine,
  input: unknown,
  actorNames: string[],
  steps: EventObject[],
): Promise<AnyMachineSnapshot> {
  const fakes = new FakeActors();
  const clock = new ManualClock();
  const actor = createActor(machine.provide({ actors: fakes.provide(actorNames) as never }), {
    input,
    clock: toXStateClock(clock),
  });
  actor.start();
  await flush();
  for (const event of steps) {
    if (
      event.type.startsWith('xstate.done.actor.') ||
      event.type.startsWith('xstate.error.actor.')
    ) {
      const id = event.type.replace(/^xstate\.(done|error)\.actor\./, '');
      // A callback actor fails by throwing; its parent sees exactly this event.
      if (fakes.isCallback(id)) actor.send(event);
      else fakes.settle(id, event);
    } else {
      // Delayed events are sent as the scheduler would deliver them; the clock never fires alone.
      actor.send(event);
    }
    await flush();
  }
  const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
  actor.stop();
  return snapshot;
}

const serialize = (s: AnyMachineSnapshot) => JSON.stringify(s.value);

describe.each([
  {
    name: 'instance',
    machine: instanceMachine as AnyStateMachine,
    input: { instanceId: 'i-1', renewDeadlineMs: 20_000 },
    actors: ['acquireLock', 'renewLock', 'stopListeners', 'drain', 'finalize'],
    mustReach: ['released', 'steppingDown', 'draining', 'finalizing'],
  },
  {
    name: 'listener',
    machine: listenerMachine as AnyStateMachine,
    input: { listenerId: 'l-1', generation: 1 },
    actors: ['claim', 'connect'],
    mustReach: ['stopped', 'claimBackoff'],
  },
  {
    name: 'listener (overlap handoff)',
    machine: listenerMachine as AnyStateMachine,
    input: { listenerId: 'l-1', generation: 1, overlap: true, expectedOwner: 'old' },
    actors: ['claim', 'connect'],
    mustReach: ['stopped'],
  },
])('$name machine: every simple path', ({ machine, input, actors, mustReach }) => {
  const paths = getSimplePaths(machine, {
    input,
    events: eventsFor(machine.id),
    serializeState: serialize,
  } as never);

  it('has paths covering every state and the key outcomes', () => {
    const reached = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const target of mustReach) {
      expect([...reached].some((v) => v.includes(`"${target}"`))).toBe(true);
    }
    expect(paths.length).toBeGreaterThan(5);
  });

  it('replays each path on the provided machine and reaches the modelled state', async () => {
    for (const path of paths) {
      const steps = path.steps.map((s) => s.event as EventObject).slice(1); // step 0 is xstate.init
      const reached = await replay(machine, input, actors, steps);
      expect({ path: steps.map((e) => e.type), value: reached.value }).toEqual({
        path: steps.map((e) => e.type),
        value: path.state.value,
      });
    }
  });
});

describe('machines provide every delay they name', () => {
  it("waits LOCK_RETRY between tries, less when the holder's lock expires sooner", () => {
    const retry = instanceMachine.implementations.delays.LOCK_RETRY as (args: {
      context: { lockTtl: number | null };
    }) => number;
    expect(retry({ context: { lockTtl: null } })).toBe(5_000);
    expect(retry({ context: { lockTtl: 1_200 } })).toBe(1_200);
    expect(retry({ context: { lockTtl: 25_000 } })).toBe(5_000);
  });

  // A named delay with no implementation fires at once, silently; one the runtime forgets falls
  // back to the machine's contract default and ignores the configuration. So every delay name a
  // definition uses must be implemented by the runtime itself, not inherited from `setup()`.
  it('the runtime provides every delay each machine definition names', () => {
    const clock = new ManualClock();
    const runtime = new BatonRuntime(
      {
        ...FAST,
        instanceId: 'delays-1',
        lockRenewMs: 310,
        connectTimeoutMs: 620,
        backoffResetMs: 930,
      },
      {
        store: new MemoryStore(clock),
        connector: { connect: () => Promise.reject(new Error('not used')) },
        clock,
        rng: seededRng(1),
        logger: silentLogger(),
      },
    );
    const provided = [
      [instanceMachine, runtime.machine],
      [listenerMachine, runtime.listenerMachine],
    ] as const;
    for (const [definition, machine] of provided) {
      const names = delayNames(definition);
      expect(names.size, definition.id).toBeGreaterThan(0);
      const delays = machine.implementations.delays as Record<string, unknown>;
      const defaults = definition.implementations.delays as Record<string, unknown>;
      for (const name of names) {
        const delay = delays[name];
        expect(typeof delay === 'number' || typeof delay === 'function', name).toBe(true);
        expect(delay, `${definition.id}: ${name} is the machine's default`).not.toBe(
          defaults[name],
        );
      }
    }
    // The configured values, not the defaults, reach the machines.
    expect(runtime.machine.implementations.delays.LOCK_RENEW).toBe(310);
    expect(runtime.listenerMachine.implementations.delays.CONNECT_TIMEOUT).toBe(620);
  });
});

/**
 * Every delay name a machine definition uses: `after` keys and the `delay` of raise/sendTo actions
 * (inline, or named and resolved through the machine's actions), in every state node.
 */
function delayNames(machine: AnyStateMachine): Set<string> {
  const names = new Set<string>();
  const named = machine.implementations.actions as Record<string, unknown>;
  const visitAction = (action: unknown) => {
    const fn = typeof action === 'string' ? named[action] : action;
    const delay = (fn as { delay?: unknown } | null)?.delay;
    if (typeof delay === 'string') names.add(delay);
  };
  const visit = (node: AnyStateMachine['root']) => {
    for (const key of Object.keys(node.config.after ?? {})) {
      if (Number.isNaN(Number(key))) names.add(key);
    }
    for (const action of [...node.entry, ...node.exit]) visitAction(action);
    for (const transitions of node.transitions.values()) {
      for (const t of transitions) t.actions.forEach(visitAction);
    }
    for (const t of node.always ?? []) t.actions.forEach(visitAction);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return names;
}

/** The behaviour the runtime relies on, stated independently of the model (so a wrong edge fails). */
describe('key paths reach the states the protocol requires', () => {
  const done = (id: string, output?: unknown) =>
    ({ type: `xstate.done.actor.${id}`, output }) as EventObject;
  const fail = (id: string) =>
    ({ type: `xstate.error.actor.${id}`, error: new Error('io') }) as EventObject;
  const inst = (steps: EventObject[]) =>
    replay(
      instanceMachine,
      { instanceId: 'i', renewDeadlineMs: 20_000 },
      OUTPUT_ACTORS.instance,
      steps,
    );
  const lis = (steps: EventObject[], input: object = {}) =>
    replay(
      listenerMachine,
      { listenerId: 'l', generation: 1, ...input },
      OUTPUT_ACTORS.listener,
      steps,
    );
  const acquired = done(invokeId(instanceMachine, 'acquireLock'), {
    ok: true,
    epoch: 4,
    sentAt: 0,
  });

  it.each([
    ['acquire ok -> leader', [acquired], { leader: { renewal: 'idle', lease: 'valid' } }],
    [
      'acquire refused -> waiting.idle',
      [done(invokeId(instanceMachine, 'acquireLock'), { ok: false })],
      { waiting: 'idle' },
    ],
    [
      'store error while acquiring -> waiting.idle',
      [fail(invokeId(instanceMachine, 'acquireLock'))],
      { waiting: 'idle' },
    ],
    [
      'release hint while idle -> tries at once',
      [fail(invokeId(instanceMachine, 'acquireLock')), { type: 'lock.released' }],
      { waiting: 'trying' },
    ],
    [
      'lease deadline -> step down',
      [acquired, afterEvent(instanceMachine, 'LEASE_REMAINING')],
      'steppingDown',
    ],
    [
      'renewal finds the lock gone -> step down',
      [
        acquired,
        afterEvent(instanceMachine, 'LOCK_RENEW'),
        done(invokeId(instanceMachine, 'renewLock'), { renewed: false }),
      ],
      'steppingDown',
    ],
    [
      'step-down stops listeners then waits',
      [
        acquired,
        afterEvent(instanceMachine, 'LEASE_REMAINING'),
        done(invokeId(instanceMachine, 'stopListeners')),
      ],
      { waiting: 'trying' },
    ],
    [
      'reconcile actor fails -> step down',
      [acquired, fail(invokeId(instanceMachine, 'reconcile'))],
      'steppingDown',
    ],
    [
      'reconcile actor fails -> steps down, then competes again',
      [
        acquired,
        fail(invokeId(instanceMachine, 'reconcile')),
        done(invokeId(instanceMachine, 'stopListeners')),
      ],
      { waiting: 'trying' },
    ],
    ['SIGTERM as leader -> draining', [acquired, { type: 'shutdown' }], 'draining'],
    [
      'drain timeout -> finalizing',
      [acquired, { type: 'shutdown' }, afterEvent(instanceMachine, 'DRAIN_TIMEOUT')],
      'finalizing',
    ],
    [
      'SIGTERM while waiting -> released after finalize',
      [{ type: 'shutdown' }, done(invokeId(instanceMachine, 'finalize'))],
      'released',
    ],
  ] as const)('instance: %s', async (_name, steps, expected) => {
    expect((await inst([...steps] as EventObject[])).value).toEqual(expected);
  });

  const claimed = (m = listenerMachine) => done(invokeId(m, 'claim'), { ok: true, fence: 2 });
  it.each([
    ['claim ok -> connecting', [claimed()], { owned: 'connecting' }, {}],
    [
      'claim refused -> stopped',
      [done(invokeId(listenerMachine, 'claim'), { ok: false, code: 'OWNER_CHANGED' })],
      'stopped',
      {},
    ],
    [
      'claim store error -> claimBackoff',
      [fail(invokeId(listenerMachine, 'claim'))],
      'claimBackoff',
      {},
    ],
    [
      'connected -> live',
      [claimed(), done(invokeId(listenerMachine, 'connect', 'owned'))],
      { owned: 'live' },
      {},
    ],
    [
      'connect timeout -> backoff',
      [claimed(), afterEvent(listenerMachine, 'CONNECT_TIMEOUT', 'owned')],
      { owned: 'backoff' },
      {},
    ],
    [
      'upstream closed -> backoff',
      [claimed(), done(invokeId(listenerMachine, 'connect', 'owned')), USER_EVENTS.listener![2]!],
      { owned: 'backoff' },
      {},
    ],
    [
      'ownership lost while live -> stopped',
      [claimed(), done(invokeId(listenerMachine, 'connect', 'owned')), { type: 'ownership.lost' }],
      'stopped',
      {},
    ],
    ['overlap: connect first', [], { warming: 'connecting' }, { overlap: true }],
    [
      'overlap: connected -> claim',
      [done(invokeId(listenerMachine, 'connect', 'warming'))],
      { warming: 'claiming' },
      { overlap: true },
    ],
    [
      'overlap: claimed -> live without reconnecting',
      [
        done(invokeId(listenerMachine, 'connect', 'warming')),
        done(invokeId(listenerMachine, 'claim', 'warming'), { ok: true, fence: 9 }),
      ],
      { owned: 'live' },
      { overlap: true },
    ],
    [
      'overlap: cannot connect -> claim first',
      [fail(invokeId(listenerMachine, 'connect', 'warming'))],
      'claiming',
      { overlap: true },
    ],
  ] as const)('listener: %s', async (_name, steps, expected, input) => {
    expect((await lis([...steps] as EventObject[], input)).value).toEqual(expected);
  });

  it('listener: attempts reset only after a session stayed live for BACKOFF_RESET', async () => {
    const connected = done(invokeId(listenerMachine, 'connect', 'owned'));
    const closed = USER_EVENTS.listener![2]!;
    const backoff = afterEvent(listenerMachine, 'BACKOFF', 'owned');
    const stable = afterEvent(listenerMachine, 'BACKOFF_RESET', 'owned');
    // Connect-then-close twice: each short session counts, live does not reset the count.
    const flapping = await lis([claimed(), connected, closed, backoff, connected]);
    expect(flapping.value).toEqual({ owned: 'live' });
    expect(flapping.context.attempts).toBe(2);
    const afterClose = await lis([claimed(), connected, closed, backoff, connected, closed]);
    expect(afterClose.value).toEqual({ owned: 'backoff' });
    expect(afterClose.context.attempts).toBe(2);
    // A session that stayed up for BACKOFF_RESET: the count starts over, still live.
    const settled = await lis([claimed(), connected, closed, backoff, connected, stable]);
    expect(settled.value).toEqual({ owned: 'live' });
    expect(settled.context.attempts).toBe(0);
  });
});

describe('the runtime binds the onError edge', () => {
  it('a reconcile loop that dies steps the leader down, and it leads again after', async () => {
    const clock = new ManualClock();
    let failures = 1;
    const runtime = new BatonRuntime(
      {
        instanceId: 'i-1',
        lockTtlMs: 10_000,
        lockRenewMs: 3_000,
        lockRetryMs: 1_000,
        renewDeadlineMs: 8_000,
        instanceTtlMs: 20_000,
        drainTimeoutMs: 5_000,
        resyncMs: 5_000,
        handoffMode: 'overlap',
        ownership: 'single',
        maxConcurrentTakeovers: 100,
        joinDelayMs: 1_000,
        connectTimeoutMs: 1_000,
        backoffBaseMs: 100,
        backoffMaxMs: 1_000,
        backoffResetMs: 30_000,
        binaryFrames: 'base64',
        messageIdField: 'id',
        maxBufferedMessages: 100,
        handoffConfirmMs: 1_000,
      },
      {
        store: new MemoryStore(clock),
        connector: {} as UpstreamConnector, // nothing is desired: never asked to connect
        clock,
        rng: seededRng(1),
        logger: silentLogger(),
        // Through the general extension point: the first reconcile actor throws as it starts.
        machines: {
          instance: (m) =>
            m.provide({
              actors: {
                reconcile: fromCallback(() => {
                  if (failures-- > 0) throw new Error('reconcile bug');
                  return () => undefined;
                }),
              },
            }),
        },
      },
    );
    const seen: string[] = [];
    runtime.onInspection((r) => {
      if (r.type !== '@xstate.snapshot' || r.actorId !== 'instance') return;
      const top = typeof r.value === 'string' ? r.value : Object.keys(r.value as object)[0]!;
      if (seen.at(-1) !== top) seen.push(top);
    });
    await runtime.start();
    for (let i = 0; i < 20 && seen.filter((v) => v === 'leader').length < 2; i++) await flush();
    expect(seen).toEqual(['waiting', 'leader', 'steppingDown', 'waiting', 'leader']);
    expect(runtime.role()).toBe('leader');
    runtime.crash();
  });
});

const OUTPUT_ACTORS = {
  instance: ['acquireLock', 'renewLock', 'stopListeners', 'drain', 'finalize'],
  listener: ['claim', 'connect'],
};

/** The invoke id XState gives the (first, or under `within`) invocation of `src`. */
function invokeId(machine: AnyStateMachine, src: string, within?: string): string {
  const found: string[] = [];
  const visit = (node: AnyStateMachine['root']) => {
    for (const inv of node.invoke as InvokeDef[]) {
      if (inv.src === src && (!within || node.id.includes(within))) found.push(inv.id);
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  if (!found[0]) throw new Error(`no invoke of ${src}`);
  return found[0];
}

/** The event type of the (first) delayed transition named `delay`. */
function afterEvent(machine: AnyStateMachine, delay: string, within?: string): EventObject {
  let type: string | undefined;
  const visit = (node: AnyStateMachine['root']) => {
    for (const d of node.after) {
      if (!type && String(d.delay) === delay && (!within || node.id.includes(within)))
        type = d.eventType;
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  if (!type) throw new Error(`no delay ${delay}`);
  return { type };
}
