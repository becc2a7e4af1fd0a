import { describe, expect, it } from 'vitest';
import {
  type AssignInput,
  type AssignPlan,
  balanceCapFor,
  hrwScore,
  imbalance,
  type PlanInstance,
  planAssignments,
} from '../../src/runtime/assign.js';

const ids = (n: number, prefix = 'l') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
const inst = (id: string, over: Partial<PlanInstance> = {}): PlanInstance => ({
  id,
  leaving: false,
  eligible: true,
  age: 0,
  ...over,
});

/** Applies a plan's changes to the stored assignment (what the leader's write does). */
function apply(assigned: Map<string, string>, plan: AssignPlan): Map<string, string> {
  const next = new Map(assigned);
  for (const c of plan.changes) {
    if (c.to === null) next.delete(c.listenerId);
    else next.set(c.listenerId, c.to);
  }
  return next;
}

function counts(assigned: ReadonlyMap<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const at of assigned.values()) out[at] = (out[at] ?? 0) + 1;
  return out;
}

const moved = (plan: AssignPlan) =>
  plan.changes.filter((c) => c.from !== null && c.to !== null).length;

/** Plans until nothing changes (each round the leader would write), counting the moves. */
function converge(input: AssignInput, rounds = 20) {
  let assigned = new Map(input.assigned);
  let total = 0;
  for (let r = 0; r < rounds; r++) {
    const plan = planAssignments({ ...input, assigned });
    total += moved(plan);
    if (plan.changes.length === 0) return { assigned, total, rounds: r };
    assigned = apply(assigned, plan);
  }
  throw new Error('did not converge');
}

const spread = (listeners: string[], on: string[]) =>
  new Map(listeners.map((l, i) => [l, on[i % on.length]!]));

describe('planAssignments', () => {
  it.each([
    ['3 instances, 300 listeners', 300, 3, [100, 100, 100]],
    ['3 instances, 301 listeners', 301, 3, [101, 100, 100]],
    ['4 instances, 10 listeners', 10, 4, [3, 3, 2, 2]],
    ['5 instances, 2 listeners', 2, 5, [1, 1, 0, 0, 0]],
    ['1 instance', 7, 1, [7]],
  ])('from nothing, %s: balanced within +-1', (_name, l, n, expected) => {
    const instances = ids(n, 'i').map((id) => inst(id));
    const plan = planAssignments({
      desired: ids(l),
      assigned: new Map(),
      owners: new Map(),
      instances,
      balanceCap: 100,
    });
    const c = counts(apply(new Map(), plan));
    const loads = instances.map((i) => c[i.id] ?? 0).sort((a, b) => b - a);
    expect(loads).toEqual(expected);
    expect(plan.moves.new).toBe(l);
    expect(moved(plan)).toBe(0);
  });

  it('join: only the surplus moves (the minimum), to the new instance, within the cap', () => {
    const listeners = ids(300);
    const old = ['a', 'b', 'c'];
    const assigned = spread(listeners, old);
    const input: AssignInput = {
      desired: listeners,
      assigned,
      owners: assigned,
      instances: [...old.map((id) => inst(id)), inst('d', { age: 1 })],
      balanceCap: 30,
    };
    const first = planAssignments(input);
    expect(moved(first)).toBe(30);
    expect(first.moves.join).toBe(30);
    expect(first.deferred).toBe(45);
    expect(first.changes.every((c) => c.to === 'd')).toBe(true);
    const { assigned: end, total } = converge(input);
    expect(total).toBe(75);
    expect(counts(end)).toEqual({ a: 75, b: 75, c: 75, d: 75 });
  });

  it('join: an instance not yet eligible (JOIN_DELAY_MS) gets nothing', () => {
    const listeners = ids(30);
    const assigned = spread(listeners, ['a', 'b']);
    const plan = planAssignments({
      desired: listeners,
      assigned,
      owners: assigned,
      instances: [inst('a'), inst('b'), inst('c', { eligible: false })],
      balanceCap: 100,
    });
    expect(plan.changes).toEqual([]);
  });

  it('many joins at once: 1 -> 5 instances moves exactly the surplus', () => {
    const listeners = ids(100);
    const assigned = spread(listeners, ['a']);
    const instances = ['a', 'b', 'c', 'd', 'e'].map((id, age) => inst(id, { age }));
    const { assigned: end, total } = converge({
      desired: listeners,
      assigned,
      owners: assigned,
      instances,
      balanceCap: 10,
    });
    expect(total).toBe(80);
    expect(counts(end)).toEqual({ a: 20, b: 20, c: 20, d: 20, e: 20 });
  });

  it.each([
    ['leave (draining)', { leaving: true }, 'leave'],
    ['crash (registry entry gone)', null, 'crash'],
  ] as const)(
    '%s: exactly its listeners move, uncapped, spread over all the others',
    (_n, c, reason) => {
      const listeners = ids(300);
      const assigned = spread(listeners, ['a', 'b', 'c', 'd']);
      const instances = [inst('a'), inst('b'), inst('c', { age: 5 })];
      if (c) instances.push(inst('d', c));
      const plan = planAssignments({
        desired: listeners,
        assigned,
        owners: assigned,
        instances,
        balanceCap: 1,
      });
      expect(moved(plan)).toBe(75);
      expect(plan.moves[reason]).toBe(75);
      expect(plan.changes.every((ch) => ch.from === 'd')).toBe(true);
      expect(counts(apply(assigned, plan))).toEqual({ a: 100, b: 100, c: 100 });
    },
  );

  it('a drain prefers the youngest instances for the extra listeners', () => {
    const listeners = ids(10);
    const assigned = spread(listeners, ['a', 'b', 'c']); // a: 4, b: 3, c: 3
    const plan = planAssignments({
      desired: listeners,
      assigned,
      owners: assigned,
      instances: [inst('a', { leaving: true }), inst('b'), inst('c', { age: 9 })],
      balanceCap: 0,
    });
    expect(counts(apply(assigned, plan))).toEqual({ b: 5, c: 5 });
    const uneven = planAssignments({
      desired: ids(9),
      assigned: spread(ids(9), ['a', 'b', 'c']),
      owners: new Map(),
      instances: [inst('a', { leaving: true }), inst('b'), inst('c', { age: 9 })],
      balanceCap: 0,
    });
    expect(uneven.changes.filter((ch) => ch.from === 'a').map((ch) => ch.to)).toEqual([
      'c',
      'c',
      'b',
    ]);
    expect(uneven.load).toEqual(
      new Map([
        ['b', 4],
        ['c', 5],
      ]),
    );
  });

  it('sticky: a balanced plan changes nothing; unassigned running listeners are recorded in place', () => {
    const listeners = ids(9);
    const owners = spread(listeners, ['a', 'b', 'c']);
    const instances = [inst('a'), inst('b'), inst('c')];
    const first = planAssignments({
      desired: listeners,
      assigned: new Map(),
      owners,
      instances,
      balanceCap: 100,
    });
    expect(moved(first)).toBe(0);
    expect(apply(new Map(), first)).toEqual(owners);
    const again = planAssignments({
      desired: listeners,
      assigned: owners,
      owners,
      instances,
      balanceCap: 100,
    });
    expect(again.changes).toEqual([]);
  });

  it('removes the assignment of a listener no longer desired', () => {
    const assigned = new Map([
      ['x', 'a'],
      ['y', 'a'],
    ]);
    const plan = planAssignments({
      desired: ['x'],
      assigned,
      owners: new Map(),
      instances: [inst('a')],
      balanceCap: 100,
    });
    expect(plan.changes).toEqual([{ listenerId: 'y', from: 'a', to: null, reason: 'removed' }]);
  });

  it('no instance but leaving ones: nothing is assigned', () => {
    const plan = planAssignments({
      desired: ['x'],
      assigned: new Map([['x', 'a']]),
      owners: new Map(),
      instances: [inst('a', { leaving: true })],
      balanceCap: 100,
    });
    expect(plan.changes).toEqual([]);
  });

  it('no eligible instance (a draining leader, successors just started): the joining ones take it', () => {
    const listeners = ids(10);
    const plan = planAssignments({
      desired: listeners,
      assigned: spread(listeners, ['a']),
      owners: new Map(),
      instances: [
        inst('a', { leaving: true }),
        inst('b', { eligible: false }),
        inst('c', { eligible: false }),
      ],
      balanceCap: 100,
    });
    expect(counts(apply(spread(listeners, ['a']), plan))).toEqual({ b: 5, c: 5 });
    expect(plan.moves.leave).toBe(10);
  });

  it('a joining instance still waits while an eligible one can take the load', () => {
    const plan = planAssignments({
      desired: ['x', 'y'],
      assigned: new Map([
        ['x', 'a'],
        ['y', 'a'],
      ]),
      owners: new Map(),
      instances: [inst('a', { leaving: true }), inst('b'), inst('c', { eligible: false })],
      balanceCap: 100,
    });
    expect(plan.changes.map((c) => c.to)).toEqual(['b', 'b']);
  });

  it('is deterministic: the same state gives the same plan whatever the input order', () => {
    const listeners = ids(50);
    const assigned = spread(listeners.slice(0, 40), ['a', 'b']);
    const instances = [inst('a'), inst('b'), inst('c', { age: 2 }), inst('d', { age: 1 })];
    const one = planAssignments({
      desired: listeners,
      assigned,
      owners: new Map(),
      instances,
      balanceCap: 5,
    });
    const two = planAssignments({
      desired: [...listeners].reverse(),
      assigned: new Map([...assigned].reverse()),
      owners: new Map(),
      instances: [...instances].reverse(),
      balanceCap: 5,
    });
    expect(two).toEqual(one);
  });

  it('weights all equal: HRW spreads ties evenly and the cap follows min(100, 10%)', () => {
    const wins = new Map<string, number>();
    for (const l of ids(3000)) {
      const best = ['a', 'b', 'c'].sort((x, y) => hrwScore(l, y) - hrwScore(l, x))[0]!;
      wins.set(best, (wins.get(best) ?? 0) + 1);
    }
    for (const w of wins.values()) expect(Math.abs(w - 1000)).toBeLessThan(100);
    expect([balanceCapFor(5), balanceCapFor(300), balanceCapFor(10_000)]).toEqual([1, 30, 100]);
    expect(
      imbalance(
        new Map([
          ['a', 3],
          ['b', 2],
        ]),
      ),
    ).toBe(1);
  });
});
