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
        if (OUTPUTS[src])
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
    actors.reconcile = fromCallback(() => () => undefined);
    return actors;
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
      fakes.settle(event.type.replace(/^xstate\.(done|error)\.actor\./, ''), event);
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

  it('the defaults are numbers or functions (a missing delay would fire at once)', () => {
    for (const machine of [instanceMachine, listenerMachine]) {
      for (const [name, delay] of Object.entries(machine.implementations.delays)) {
        expect(typeof delay === 'number' || typeof delay === 'function', name).toBe(true);
      }
    }
  });
});

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
