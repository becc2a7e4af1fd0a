/** The store contract on MemoryStore, with a ManualClock: time-dependent checks are exact. */
import { ManualClock } from '../../src/clock.js';
import { MemoryStore } from '../../src/store/memory-store.js';
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
