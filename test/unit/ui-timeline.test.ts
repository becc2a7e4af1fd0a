/**
 * The dashboard's ownership timeline model (lanes per fence; owned, gap and overlap segments
 * from the ownership log) and the orphan takeover countdown, as pure functions.
 */
import { describe, expect, it } from 'vitest';
import type {
  InstancesReport as Fleet,
  ListenerReport as Listener,
} from '../../src/admin/reports.js';
import { takeoverDue, takeoverText } from '../../ui/src/takeover.js';
import { buildTimelines, lanesOf, type OwnershipChange } from '../../ui/src/timeline-model.js';

let seq = 0;
function change(patch: Partial<OwnershipChange> & Pick<OwnershipChange, 'at'>): OwnershipChange {
  seq += 1;
  return {
    id: `${patch.at}-${seq}`,
    listener_id: 'l',
    from: null,
    to: 'a',
    fence: 1,
    epoch: 1,
    reason: 'claim',
    ...patch,
  };
}

const kinds = (lanes: ReturnType<typeof lanesOf>) =>
  lanes.map((lane) =>
    lane.segments.map((s) => [s.kind, s.owner, s.from, s.fence, s.start, s.end, s.open]),
  );

describe('ownership timeline model', () => {
  it('draws one lane per fence: owned until the next change, the last one open at now', () => {
    const lanes = lanesOf(
      [
        change({ at: 100 }),
        change({ at: 400, from: 'a', to: 'b', fence: 2, epoch: 2, reason: 'takeover' }),
      ],
      1_000,
    );
    expect(lanes.map((l) => [l.fence, l.owner])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(kinds(lanes)).toEqual([
      [['owned', 'a', null, 1, 100, 400, false]],
      [['owned', 'b', 'a', 2, 400, 1_000, true]],
    ]);
  });

  it('a release followed by a claim is a gap of their distance, drawn in the next lane', () => {
    const lanes = lanesOf(
      [
        change({ at: 100 }),
        change({ at: 300, from: 'a', to: null, reason: 'release' }),
        change({ at: 1_300, to: 'b', fence: 2 }),
      ],
      2_000,
    );
    expect(kinds(lanes)).toEqual([
      [['owned', 'a', null, 1, 100, 300, false]],
      [
        ['gap', null, 'a', 2, 300, 1_300, false],
        ['owned', 'b', null, 2, 1_300, 2_000, true],
      ],
    ]);
  });

  it('a handoff with overlap_since is an overlap of both owners up to the claim', () => {
    const lanes = lanesOf(
      [
        change({ at: 100 }),
        change({ at: 900, from: 'a', to: 'b', fence: 2, reason: 'handoff', overlap_since: 650 }),
      ],
      1_000,
    );
    expect(kinds(lanes)[1]).toEqual([
      ['overlap', 'b', 'a', 2, 650, 900, false],
      ['owned', 'b', 'a', 2, 900, 1_000, true],
    ]);
  });

  it('a release with no later claim ends the lane; no gap is invented', () => {
    const lanes = lanesOf(
      [change({ at: 100 }), change({ at: 300, from: 'a', to: null, reason: 'release' })],
      5_000,
    );
    expect(kinds(lanes)).toEqual([[['owned', 'a', null, 1, 100, 300, false]]]);
  });

  it('groups by listener, the most recently changed first', () => {
    const t = buildTimelines(
      [change({ at: 100, listener_id: 'x' }), change({ at: 200, listener_id: 'y' })],
      300,
    );
    expect(t.map((x) => x.listenerId)).toEqual(['y', 'x']);
  });
});

describe('takeover countdown', () => {
  const listener = {
    listener_id: 'l',
    desired: true,
    owner: 'gone',
    owner_alive: false,
  } as Listener;
  const fleet = (patch: Partial<Fleet> = {}): Fleet => ({
    count: 1,
    instances: [
      { id: 'lead', ttl: 10, ttl_ms: 10_000, role: 'leader', meta: { resync_ms: 5_000 } },
    ],
    lock_holder: 'lead',
    lock_holder_alive: true,
    lock_ttl_ms: 20_000,
    epoch: 3,
    ...patch,
  });

  it("counts down to the coordinator's next reconcile from when the orphan was first seen", () => {
    const due = takeoverDue(listener, fleet(), undefined, 1_000, 900);
    expect(due).toEqual({ kind: 'by', at: 6_000, coordinator: 'lead' });
    expect(takeoverText(due, 3_500)).toBe('orphaned: takeover by lead within 2.5 s');
    expect(takeoverText(due, 7_000)).toBe('orphaned: takeover overdue 1.0 s');
  });

  it('in sharded mode the assignee takes over; with no live coordinator the lock must expire', () => {
    const two = fleet({
      instances: [
        ...fleet().instances,
        { id: 'b', ttl: 10, ttl_ms: 10_000, role: 'waiting', meta: { resync_ms: 2_000 } },
      ],
    });
    expect(takeoverDue(listener, two, 'b', 1_000, 0)).toEqual({
      kind: 'by',
      at: 3_000,
      coordinator: 'b',
    });
    const headless = fleet({ instances: [], lock_holder: 'gone', lock_holder_alive: false });
    expect(takeoverDue(listener, headless, undefined, 1_000, 500)).toEqual({
      kind: 'after-lock',
      at: 20_500,
    });
    const none = fleet({
      instances: [],
      lock_holder: null,
      lock_holder_alive: false,
      lock_ttl_ms: -1,
    });
    expect(takeoverText(takeoverDue(listener, none, undefined, 0, 0), 0)).toBe(
      'orphaned: waiting for a coordinator',
    );
  });
});
