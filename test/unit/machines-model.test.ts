/**
 * Model-based tests: every simple path of each machine (xstate/graph), with the events of invoked
 * actors and delays enumerated per state, replayed on the machine as the runtime provides it,
 * with fake actors that the test resolves or rejects and a manual clock that never moves on its
 * own. A path passes when the real actor reaches the state the model predicted.
 */
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, EventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { instanceMachine } from '../../machines/instance.js';
import { listenerMachine } from '../../machines/listener.js';
import {
  afterEvent,
  eventsFor,
  invokeId,
  OUTPUT_ACTORS,
  replay,
  serialize,
  USER_EVENTS,
} from './machines-replay.js';

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
