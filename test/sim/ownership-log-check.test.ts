/** Invariant 12's check: the ownership log chains, bumps fences by one, and ends at the store's owner. */
import { describe, expect, it } from 'vitest';
import { ownershipLogProblem } from '../../sim/ownership-log-check.js';
import type { OwnershipLogEntry } from '../../src/store/ownership-log.js';

const entry = (e: Partial<OwnershipLogEntry>): OwnershipLogEntry => ({
  id: '1-0',
  listenerId: 'l',
  from: null,
  to: 'a',
  fence: 1,
  epoch: 1,
  reason: 'claim',
  at: 1,
  ...e,
});

const good = [
  entry({}),
  entry({ from: 'a', to: 'b', fence: 2, reason: 'handoff' }),
  entry({ from: 'b', to: null, fence: 2, reason: 'release' }),
  entry({ from: null, to: 'c', fence: 3 }),
];

describe('ownership log check', () => {
  it('accepts a log that agrees with the store', () => {
    expect(ownershipLogProblem(good, [{ listenerId: 'l', owner: 'c', fence: 3 }])).toBeNull();
    expect(ownershipLogProblem([], [{ listenerId: 'x', owner: null, fence: 0 }])).toBeNull();
  });

  it('finds a broken chain, a skipped fence, a stale last entry and a missing listener', () => {
    const owners = [{ listenerId: 'l', owner: 'c', fence: 3 }];
    const chain = good.map((e, i) => (i === 1 ? { ...e, from: 'z' } : e));
    expect(ownershipLogProblem(chain, owners)).toMatch(
      /handoff at fence 2 is from z; the owner was a/,
    );
    const skip = good.map((e, i) => (i === 3 ? { ...e, fence: 4 } : e));
    expect(ownershipLogProblem(skip, owners)).toMatch(/claim has fence 4; expected 3/);
    expect(ownershipLogProblem(good.slice(0, 3), owners)).toMatch(
      /owned by c@3; the log says null@2/,
    );
    expect(ownershipLogProblem([], owners)).toMatch(/the log says nothing/);
  });
});
