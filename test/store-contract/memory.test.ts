/** The store contract on MemoryStore, with a ManualClock: time-dependent checks are exact. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { singles } from '../support/singles.js';
import { describeStoreContract } from './contract.js';

describeStoreContract('memory', async (options) => {
  const clock = new ManualClock();
  const store = new MemoryStore(clock, options);
  return {
    store,
    exact: true,
    ttlSlackMs: 0,
    advance: async (ms) => clock.advance(ms),
    now: () => clock.now(),
    close: () => store.close(),
  };
});

describe('MemoryStore beyond the contract', () => {
  /** A store where `a` leads and owns `l` and `k`, with a 1 s dedup window. */
  async function owning() {
    const clock = new ManualClock();
    const store = new MemoryStore(clock, { dedupWindowMs: 1_000, eventsMaxLen: 3 });
    const s = singles(store);
    await s.acquireLock('a', 60_000);
    for (const id of ['l', 'k']) {
      await s.setDesired(id, `tok-${id}`);
      await s.claimListener(id, 'a', 1);
    }
    return { clock, store, s };
  }

  it("drops a listener's dedup window one window after its last write, as PEXPIRE does", async () => {
    const { clock, store, s } = await owning();
    expect(store.state.dedupWindowCount()).toBe(0);
    await s.emit('l', 'a', 1, 'm1', 'p');
    clock.advance(600);
    await s.emit('k', 'a', 1, 'm1', 'p');
    // A duplicate writes nothing: l's window still expires 1 s after its first emit.
    expect(await s.emit('l', 'a', 1, 'm1', 'p')).toEqual({ result: 'duplicate' });
    expect(store.state.dedupWindowCount()).toBe(2);
    clock.advance(399);
    expect(store.state.dedupWindowCount()).toBe(2);
    clock.advance(1);
    expect(store.state.dedupWindowCount()).toBe(1);
    expect((await s.emit('l', 'a', 1, 'm1', 'again')).result).toBe('emitted');
    clock.advance(1_000);
    expect(store.state.dedupWindowCount()).toBe(0);
  });

  it('trims the events stream to exactly eventsMaxLen (Redis trims approximately)', async () => {
    const { s } = await owning();
    for (let i = 1; i <= 5; i += 1) await s.emit('l', 'a', 1, `m${i}`, `p${i}`);
    expect((await s.readEvents('0', 10)).map((e) => e.payload)).toEqual(['p3', 'p4', 'p5']);
  });

  it('hands out copies: changing a returned value changes nothing in the store', async () => {
    const { store, s } = await owning();
    await s.emit('l', 'a', 1, 'm1', 'p1');
    const [event] = await store.readEvents('0', 1);
    event!.payload = 'changed';
    const owners = await store.readOwners();
    owners[0]!.owner = 'z';
    expect((await store.readEvents('0', 1))[0]!.payload).toBe('p1');
    expect((await store.readOwners())[0]!.owner).toBe('a');
  });
});
