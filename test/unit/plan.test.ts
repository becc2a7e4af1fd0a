/**
 * The planners as tables: plain data in, actions out. Each row is one situation a leader (or a
 * draining instance) can meet, with what today's reconcile and drain do about it. Sharded share
 * passes: plan-share.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  capStarts,
  type LocalListener,
  type OwnerFact,
  planDrain,
  planOwnershipLoss,
  planReconcile,
  type ReconcileAction,
} from '../../src/runtime/plan.js';
import type { InstanceRole } from '../../src/store/types.js';
import { input, SELF, start } from './plan-fixtures.js';

describe('planReconcile', () => {
  it.each<[string, Parameters<typeof input>[0], ReconcileAction[]]>([
    ['nothing desired, nothing running: nothing to do', {}, []],
    ['unowned: claim it', { desired: [['a', 1]] }, [start('a', 'claim-unowned')]],
    [
      'has a fence but no owner (released): claim it as unowned',
      { desired: [['a', 1]], owners: [['a', null, 4]] },
      [start('a', 'claim-unowned')],
    ],
    [
      'owned by us but not running here (we restarted): reclaim from ourselves',
      { desired: [['a', 1]], owners: [['a', SELF, 4]] },
      [start('a', 'reclaim', SELF, 'leader')],
    ],
    [
      'owned by a dead instance: failover',
      { desired: [['a', 1]], owners: [['a', 'gone', 4]] },
      [start('a', 'failover', 'gone', null)],
    ],
    [
      'owned by a live waiting peer (stepped down): failover',
      { desired: [['a', 1]], owners: [['a', 'p', 4]], instances: [['p', 'waiting']] },
      [start('a', 'failover', 'p', 'waiting')],
    ],
    [
      'owned by a live peer that still says leader (paused past its lease): failover',
      { desired: [['a', 1]], owners: [['a', 'p', 4]], instances: [['p', 'leader']] },
      [start('a', 'failover', 'p', 'leader')],
    ],
    [
      'owned by a released peer: failover',
      { desired: [['a', 1]], owners: [['a', 'p', 4]], instances: [['p', 'released']] },
      [start('a', 'failover', 'p', 'released')],
    ],
    [
      'owned by a draining peer, overlap mode: overlap handoff',
      { desired: [['a', 1]], owners: [['a', 'p', 4]], instances: [['p', 'draining']] },
      [start('a', 'overlap', 'p', 'draining')],
    ],
    [
      'owned by a draining peer, sequential mode: sequential handoff',
      {
        desired: [['a', 1]],
        owners: [['a', 'p', 4]],
        instances: [['p', 'draining']],
        handoffMode: 'sequential',
      },
      [start('a', 'sequential', 'p', 'draining')],
    ],
    [
      'the start carries the desired generation',
      { desired: [['a', 3]] },
      [start('a', 'claim-unowned', null, null, 3)],
    ],
    [
      'running at the desired generation and still ours: nothing to do',
      { desired: [['a', 1]], owners: [['a', SELF, 4]], local: [['a', 1, 4]] },
      [],
    ],
    [
      'running, still claiming (no fence yet): nothing to do even if another owns it',
      { desired: [['a', 1]], owners: [['a', 'p', 4]], local: [['a', 1, null]] },
      [],
    ],
    [
      'running, and a peer claimed after us (higher fence): ownership lost',
      { desired: [['a', 1]], owners: [['a', 'p', 5]], local: [['a', 1, 4]] },
      [{ type: 'ownership-lost', listenerId: 'a' }],
    ],
    [
      'running, and a peer holds our own fence: ownership lost',
      { desired: [['a', 1]], owners: [['a', 'p', 4]], local: [['a', 1, 4]] },
      [{ type: 'ownership-lost', listenerId: 'a' }],
    ],
    [
      'running, the read predates our claim (older fence): not a loss',
      { desired: [['a', 1]], owners: [['a', 'p', 3]], local: [['a', 1, 4]] },
      [],
    ],
    [
      'running, released by someone (no owner) at our fence: ownership lost',
      { desired: [['a', 1]], owners: [['a', null, 4]], local: [['a', 1, 4]] },
      [{ type: 'ownership-lost', listenerId: 'a' }],
    ],
    [
      'running, no ownership entry at all: nothing to do',
      { desired: [['a', 1]], local: [['a', 1, 4]] },
      [],
    ],
    [
      'generation bumped (restart command): restart from the current owner',
      { desired: [['a', 2]], owners: [['a', SELF, 4]], local: [['a', 1, 4]] },
      [{ type: 'restart', listenerId: 'a', generation: 2, expectedOwner: SELF }],
    ],
    [
      'generation bumped while a peer owns it: restart expecting that peer',
      { desired: [['a', 2]], owners: [['a', 'p', 9]], local: [['a', 1, 4]] },
      [{ type: 'restart', listenerId: 'a', generation: 2, expectedOwner: 'p' }],
    ],
    [
      'generation bumped, never owned: restart expecting nobody',
      { desired: [['a', 2]], local: [['a', 1, null]] },
      [{ type: 'restart', listenerId: 'a', generation: 2, expectedOwner: null }],
    ],
    [
      'not desired any more but running: stop it and give it back',
      { owners: [['a', SELF, 4]], local: [['a', 1, 4]] },
      [
        { type: 'stop', listenerId: 'a' },
        { type: 'release', listenerId: 'a' },
        { type: 'release', listenerId: 'a' },
      ],
    ],
    [
      'not desired, running, never claimed: stop and release (the store ignores it)',
      { local: [['a', 1, null]] },
      [
        { type: 'stop', listenerId: 'a' },
        { type: 'release', listenerId: 'a' },
      ],
    ],
    [
      'not desired, not running, still owned by us: release it',
      { owners: [['a', SELF, 4]] },
      [{ type: 'release', listenerId: 'a' }],
    ],
    [
      'not desired, owned by a peer: none of our business',
      { owners: [['a', 'p', 4]], instances: [['p', 'leader']] },
      [],
    ],
  ])('%s', (_name, given, expected) => {
    expect(planReconcile(input(given))).toEqual(expected);
  });

  it('keeps the desired order, then stops, then releases stale ownership', () => {
    const actions = planReconcile(
      input({
        desired: [
          ['b', 1],
          ['a', 2],
          ['c', 1],
        ],
        owners: [
          ['c', 'p', 7],
          ['x', SELF, 2],
          ['z', SELF, 1],
        ],
        local: [
          ['a', 1, 3],
          ['c', 1, 6],
          ['y', 1, 5],
        ],
      }),
    );
    expect(actions.map((a) => `${a.type} ${a.listenerId}`)).toEqual([
      'start b',
      'restart a',
      'ownership-lost c',
      'stop y',
      'release y',
      'release x',
      'release z',
    ]);
  });
});

describe('capStarts (single mode: a leader pass takes over at most MAX_CONCURRENT_TAKEOVERS)', () => {
  // A new leader of a fleet whose old leader crashed: three failovers, one handoff from a
  // draining owner, one unowned listener, one restart and one stop, with `inFlight` local actors
  // not owning yet (each counts against the cap).
  const pass = (max: number, inFlight: number) => {
    const given = input({
      desired: [
        ['f1', 1],
        ['h', 1],
        ['f2', 1],
        ['u', 1],
        ['f3', 1],
        ['r', 2],
        ...Array.from({ length: inFlight }, (_, i): [string, number] => [`w${i}`, 1]),
      ],
      owners: [
        ['f1', 'gone', 1],
        ['f2', 'gone', 1],
        ['f3', 'gone', 1],
        ['h', 'd', 1],
        ['r', SELF, 4],
      ],
      instances: [['d', 'draining']],
      local: [
        ['r', 1, 4],
        ['old', 1, 2],
        ...Array.from({ length: inFlight }, (_, i): [string, number, null] => [`w${i}`, 1, null]),
      ],
    });
    return capStarts(planReconcile(given), given.local, max);
  };
  const starts = (plan: ReturnType<typeof pass>) =>
    plan.actions.filter((a) => a.type === 'start').map((a) => a.listenerId);
  const others = (plan: ReturnType<typeof pass>) =>
    plan.actions.filter((a) => a.type !== 'start').map((a) => `${a.type} ${a.listenerId}`);

  it.each<[string, number, number, string[], number]>([
    ['room for all: everything starts', 10, 0, ['f1', 'h', 'f2', 'u', 'f3'], 0],
    ['room for three: orphans first, in desired order', 3, 0, ['f1', 'f2', 'u'], 2],
    ['room for four: every orphan, the handoff waits', 4, 0, ['f1', 'f2', 'u', 'f3'], 1],
    ['two in flight of four: two more', 4, 2, ['f1', 'f2'], 3],
    ['as many in flight as the cap: none', 3, 3, [], 5],
  ])('%s', (_name, max, inFlight, started, deferred) => {
    const plan = pass(max, inFlight);
    expect(starts(plan)).toEqual(started);
    expect(plan.deferred).toBe(deferred);
    // Restarts, stops and releases are never held back.
    expect(others(plan)).toEqual(['restart r', 'stop old', 'release old']);
  });
});

describe('planOwnershipLoss', () => {
  const local = new Map<string, LocalListener>([
    ['a', { generation: 1, fence: 4 }],
    ['b', { generation: 1, fence: null }],
    ['c', { generation: 1, fence: 4 }],
    ['d', { generation: 1, fence: 4 }],
  ]);
  it.each<[string, OwnerFact[], string[]]>([
    ['a peer claimed after us', [{ listenerId: 'a', owner: 'p', fence: 5 }], ['a']],
    ['a peer at our fence', [{ listenerId: 'a', owner: 'p', fence: 4 }], ['a']],
    ['a read from before our claim', [{ listenerId: 'a', owner: 'p', fence: 3 }], []],
    ['still ours', [{ listenerId: 'a', owner: SELF, fence: 4 }], []],
    ['released at our fence', [{ listenerId: 'a', owner: null, fence: 4 }], ['a']],
    ['not claimed by us yet', [{ listenerId: 'b', owner: 'p', fence: 9 }], []],
    ['not running here', [{ listenerId: 'q', owner: 'p', fence: 9 }], []],
    [
      'several, in the order read',
      [
        { listenerId: 'd', owner: 'p', fence: 8 },
        { listenerId: 'c', owner: SELF, fence: 4 },
        { listenerId: 'a', owner: 'p', fence: 6 },
      ],
      ['d', 'a'],
    ],
  ])('%s', (_name, owners, expected) => {
    expect(planOwnershipLoss(SELF, owners, local)).toEqual(expected);
  });
});

describe('planDrain', () => {
  const reg = (...rows: [string, InstanceRole][]) => rows.map(([id, role]) => ({ id, role }));
  it.each<[string, ReturnType<typeof reg> | null, number, string]>([
    [
      'a waiting peer can take over: wait for its claims',
      reg([SELF, 'draining'], ['p', 'waiting']),
      3,
      'wait',
    ],
    ['a leading peer can take over: wait', reg([SELF, 'draining'], ['p', 'leader']), 3, 'wait'],
    ['alone: no successor', reg([SELF, 'draining']), 3, 'no-successor'],
    ['empty registry: no successor', reg(), 3, 'no-successor'],
    [
      'draining peers are not successors',
      reg([SELF, 'draining'], ['p', 'draining'], ['q', 'released']),
      3,
      'no-successor',
    ],
    ['registry unreadable: keep waiting', null, 3, 'wait'],
    [
      'every listener claimed: handed off',
      reg([SELF, 'draining'], ['p', 'leader']),
      0,
      'handed-off',
    ],
    ['registry unreadable and nothing left: handed off', null, 0, 'handed-off'],
    ['no successor wins over nothing left (as today)', reg([SELF, 'draining']), 0, 'no-successor'],
    ['our own entry, even as a leader, is no successor', reg([SELF, 'leader']), 2, 'no-successor'],
  ])('%s', (_name, instances, running, expected) => {
    expect(planDrain({ self: SELF, instances, running })).toBe(expected);
  });
});
