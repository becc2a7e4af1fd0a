/**
 * Sharded mode as tables: what one instance's share pass starts, keeps and lets go of, and whose
 * presence it reads before taking over (a crashed owner is taken over claim-first).
 */
import { describe, expect, it } from 'vitest';
import { handoverSources, planShare, type ReconcileAction } from '../../src/runtime/plan.js';
import { input, SELF, start } from './plan-fixtures.js';

describe('planShare (sharded: every instance reconciles its own share)', () => {
  const share = (
    over: Parameters<typeof input>[0] & {
      assigned?: [string, string][];
      max?: number;
      absent?: string[];
    },
  ) =>
    planShare({
      ...input({
        ...over,
        instances: [['b', 'waiting'], ['d', 'draining'], ...(over.instances ?? [])],
      }),
      assigned: new Map(over.assigned ?? []),
      maxTakeovers: over.max ?? 10,
      ...(over.absent ? { absent: new Set(over.absent) } : {}),
    });

  it.each<[string, Parameters<typeof share>[0], ReconcileAction[], number]>([
    [
      'assigned here, unowned: claim it',
      { desired: [['l', 1]], assigned: [['l', SELF]] },
      [start('l', 'claim-unowned')],
      0,
    ],
    [
      'assigned elsewhere, not running here: nothing',
      { desired: [['l', 1]], assigned: [['l', 'b']], owners: [['l', 'b', 1]] },
      [],
      0,
    ],
    [
      'assigned here, owned by a live instance: make-before-break, not a failover',
      { desired: [['l', 1]], assigned: [['l', SELF]], owners: [['l', 'b', 3]] },
      [start('l', 'overlap', 'b', 'waiting')],
      0,
    ],
    [
      'assigned here, owned by a draining instance: in the configured handoff mode',
      {
        desired: [['l', 1]],
        assigned: [['l', SELF]],
        owners: [['l', 'd', 3]],
        handoffMode: 'sequential',
      },
      [start('l', 'sequential', 'd', 'draining')],
      0,
    ],
    [
      'assigned here, owner registered but its presence gone (crashed): claim first',
      { desired: [['l', 1]], assigned: [['l', SELF]], owners: [['l', 'b', 3]], absent: ['b'] },
      [start('l', 'failover', 'b', 'waiting')],
      0,
    ],
    [
      'assigned here, owner dead: claim first',
      { desired: [['l', 1]], assigned: [['l', SELF]], owners: [['l', 'gone', 3]] },
      [start('l', 'failover', 'gone', null)],
      0,
    ],
    [
      'running here, reassigned elsewhere: keep serving until the fence moves',
      {
        desired: [['l', 1]],
        assigned: [['l', 'b']],
        owners: [['l', SELF, 2]],
        local: [['l', 1, 2]],
      },
      [],
      0,
    ],
    [
      'running here, the new owner claimed: stop',
      {
        desired: [['l', 1]],
        assigned: [['l', 'b']],
        owners: [['l', 'b', 3]],
        local: [['l', 1, 2]],
      },
      [{ type: 'ownership-lost', listenerId: 'l' }],
      0,
    ],
    [
      'running here, not desired any more: stop and release',
      { assigned: [['l', SELF]], owners: [['l', SELF, 2]], local: [['l', 1, 2]] },
      [
        { type: 'stop', listenerId: 'l' },
        { type: 'release', listenerId: 'l' },
        { type: 'release', listenerId: 'l' },
      ],
      0,
    ],
    [
      'owned here in the store, not running, assigned elsewhere: give it back',
      { desired: [['l', 1]], assigned: [['l', 'b']], owners: [['l', SELF, 2]] },
      [{ type: 'release', listenerId: 'l' }],
      0,
    ],
    [
      'at most MAX_CONCURRENT_TAKEOVERS in flight, orphans first',
      {
        desired: [
          ['busy', 1],
          ['a', 1],
          ['b', 1],
          ['c', 1],
          ['z', 1],
        ],
        assigned: [
          ['busy', SELF],
          ['a', SELF],
          ['b', SELF],
          ['c', SELF],
          ['z', SELF],
        ],
        owners: [
          ['a', 'b', 1],
          ['b', 'b', 1],
          ['c', 'b', 1],
        ],
        local: [['busy', 1, null]],
        max: 3,
      },
      [start('z', 'claim-unowned'), start('a', 'overlap', 'b', 'waiting')],
      2,
    ],
  ])('%s', (_name, over, actions, deferred) => {
    const plan = share(over);
    // Order among kept actions is not part of the contract, except orphans before handoffs.
    expect(new Set(plan.actions)).toEqual(new Set(actions));
    expect(plan.deferred).toBe(deferred);
  });
});

describe('handoverSources (whose presence a share pass reads)', () => {
  const sources = (over: Parameters<typeof input>[0] & { assigned?: [string, string][] }) =>
    handoverSources({
      ...input({
        ...over,
        instances: [
          ['b', 'waiting'],
          ['c', 'waiting'],
          ['d', 'draining'],
        ],
      }),
      assigned: new Map(over.assigned ?? []),
    });

  it.each<[string, Parameters<typeof sources>[0], string[]]>([
    [
      'a registered, non-draining owner of a listener assigned here',
      { desired: [['l', 1]], assigned: [['l', SELF]], owners: [['l', 'b', 1]] },
      ['b'],
    ],
    [
      'a draining owner: a handoff, no presence needed',
      { desired: [['l', 1]], assigned: [['l', SELF]], owners: [['l', 'd', 1]] },
      [],
    ],
    [
      'an unregistered owner: already a failover',
      { desired: [['l', 1]], assigned: [['l', SELF]], owners: [['l', 'gone', 1]] },
      [],
    ],
    [
      'assigned elsewhere, or running here already: nothing to take over',
      {
        desired: [
          ['l', 1],
          ['m', 1],
        ],
        assigned: [
          ['l', 'c'],
          ['m', SELF],
        ],
        owners: [
          ['l', 'b', 1],
          ['m', 'b', 1],
        ],
        local: [['m', 1, null]],
      },
      [],
    ],
    [
      'each owner once, sorted',
      {
        desired: [
          ['l', 1],
          ['m', 1],
          ['n', 1],
        ],
        assigned: [
          ['l', SELF],
          ['m', SELF],
          ['n', SELF],
        ],
        owners: [
          ['l', 'c', 1],
          ['m', 'b', 1],
          ['n', 'c', 1],
        ],
      },
      ['b', 'c'],
    ],
  ])('%s', (_, over, expected) => {
    expect(sources(over)).toEqual(expected);
  });
});
