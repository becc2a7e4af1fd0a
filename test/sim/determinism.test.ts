/**
 * The simulator's own contract: a seed is a complete description of a run. The same seed gives the
 * same trace hash every time (also after other seeds ran in this process, so no hidden global
 * state leaks between runs), different seeds give different runs, and the exact drain (a macrotask
 * turn after every event) agrees with the fast one (a fixed number of microtask turns).
 */
import { describe, expect, it } from 'vitest';
import { runSeed } from '../../sim/runner.js';
import { type SimOptions, STANDARD } from '../../sim/scenario.js';

const SMALL: Omit<SimOptions, 'seed'> = { ...STANDARD, minutes: 2, instances: 3, listeners: 12 };

describe('simulator determinism', () => {
  it('the same seed gives the same trace hash, before and after other seeds ran', async () => {
    const first = await runSeed({ ...SMALL, seed: 7 });
    const other = await runSeed({ ...SMALL, seed: 8 });
    const again = await runSeed({ ...SMALL, seed: 7 });
    expect(first.ok, first.failure ?? '').toBe(true);
    expect(again.hash).toBe(first.hash);
    expect(again.steps).toBe(first.steps);
    expect(again.counters.entries()).toEqual(first.counters.entries());
    expect(other.hash).not.toBe(first.hash);
  });

  it('different seeds give different traces', async () => {
    const hashes = new Set<string>();
    for (let seed = 1; seed <= 6; seed++) hashes.add((await runSeed({ ...SMALL, seed })).hash);
    expect(hashes.size).toBe(6);
  });

  it('the exact drain and the fast drain replay a seed identically', async () => {
    const fast = await runSeed({ ...SMALL, seed: 3 });
    const exact = await runSeed({ ...SMALL, seed: 3, drain: 'immediate' });
    expect(exact.hash).toBe(fast.hash);
  });

  it('a seed does something: faults, handoffs and messages all happen', async () => {
    const r = await runSeed({ ...STANDARD, seed: 11, minutes: 4, instances: 4, listeners: 20 });
    expect(r.ok, r.failure ?? '').toBe(true);
    expect(r.counters.get('upstream.generated')).toBeGreaterThan(1000);
    expect(r.counters.get('state.epoch')).toBeGreaterThan(1);
    expect(r.steps).toBeGreaterThan(10_000);
    expect(r.convergeMs).not.toBeNull();
  });
});
