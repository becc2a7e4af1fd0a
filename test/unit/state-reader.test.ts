/**
 * The resync read path (src/runtime/state-reader.ts) on the real in-memory store: a pass reuses
 * the last full read only while the state version stands still, every change is seen on the next
 * pass, and every `fullEvery`-th pass reads in full regardless.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { decideReuse, StateReader } from '../../src/runtime/state-reader.js';
import { MemoryStore } from '../../src/store/memory-store.js';

const LONG = 60_000;

async function fixture(fullEvery = 12) {
  const store = new MemoryStore(new ManualClock());
  await store.acquireLock('a', LONG);
  await store.setDesired('l1', 'tok-1');
  const reader = new StateReader(store, { assignments: true, fullEvery });
  return { store, reader };
}

describe('StateReader', () => {
  it('reads in full first, then reuses the read while nothing changed', async () => {
    const { reader } = await fixture();
    const first = await reader.read();
    expect(first.desired.map((d) => d.listenerId)).toEqual(['l1']);
    expect(await reader.read()).toEqual(first);
    expect(await reader.read()).toEqual(first);
    expect(reader.counts).toEqual({ full: 1, reused: 2 });
  });

  it('two passes that read the same version share one full read', async () => {
    const { reader } = await fixture();
    const [a, b] = await Promise.all([reader.read(), reader.read()]);
    expect(b).toBe(a);
    expect(reader.counts).toEqual({ full: 1, reused: 0 });
  });

  it('sees every kind of change on the next pass', async () => {
    const { store, reader } = await fixture();
    await reader.read();
    await store.setDesired('l2', 'tok-2');
    expect((await reader.read()).desired.map((d) => d.listenerId)).toEqual(['l1', 'l2']);
    await store.claimListeners([{ listenerId: 'l2', instanceId: 'a', epoch: 1 }]);
    expect((await reader.read()).owners).toEqual([{ listenerId: 'l2', owner: 'a', fence: 1 }]);
    await store.writeAssignments('a', 1, [{ listenerId: 'l1', instanceId: 'b' }]);
    const { assignment } = await reader.read();
    expect(assignment.entries).toEqual([{ listenerId: 'l1', instanceId: 'b', generation: 1 }]);
    await store.releaseListener('l2', 'a');
    expect((await reader.read()).owners).toEqual([{ listenerId: 'l2', owner: null, fence: 1 }]);
    await store.removeDesired('l1');
    expect((await reader.read()).desired.map((d) => d.listenerId)).toEqual(['l2']);
    expect(reader.counts).toEqual({ full: 6, reused: 0 });
  });

  it('reads in full every fullEvery-th pass even when the version stands still', async () => {
    const { reader } = await fixture(3);
    for (let i = 0; i < 7; i++) await reader.read();
    // Passes 1, 4 and 7 read in full; the two after each reuse it.
    expect(reader.counts).toEqual({ full: 3, reused: 4 });
  });

  it('reads no assignment in single mode', async () => {
    const store = new MemoryStore(new ManualClock());
    await store.acquireLock('a', LONG);
    await store.writeAssignments('a', 1, [{ listenerId: 'l1', instanceId: 'b' }]);
    const reader = new StateReader(store, { assignments: false });
    expect((await reader.read()).assignment).toEqual({ generation: 0, entries: [] });
  });

  it('decides reuse on the version and the count alone', () => {
    expect(decideReuse({ version: 4, reuses: 0 }, 4, 12)).toBe(true);
    expect(decideReuse({ version: 4, reuses: 0 }, 5, 12)).toBe(false);
    expect(decideReuse({ version: 4, reuses: 10 }, 4, 12)).toBe(true);
    expect(decideReuse({ version: 4, reuses: 11 }, 4, 12)).toBe(false);
    expect(decideReuse({ version: 0, reuses: 0 }, 0, 1)).toBe(false);
  });
});
