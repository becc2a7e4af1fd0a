/**
 * The state version (`readStateVersion`): the resync read path reads the desired state, owners
 * and assignment in full only when it moved, so every change of those must move it, and nothing
 * else may have to. One test per changing operation, one for the refusals and no-op writes that
 * must not need a re-read, one for the reads and the message path.
 */
import { describe, expect, it } from 'vitest';
import type { SingleStore } from '../support/singles.js';
import type { OpenStore } from './contract-spec.js';

const LONG = 60_000;
const status = { state: 'live', owner: 'a', fence: 1, since: 1, attempts: 0, lastError: null };

/** Runs `step` and answers how far it moved the state version. */
async function moved(s: SingleStore, step: () => Promise<unknown>): Promise<number> {
  const before = await s.readStateVersion();
  await step();
  return (await s.readStateVersion()) - before;
}

/** Registers the state version tests inside the contract suite of one store. */
export function describeVersionContract(open: OpenStore): void {
  describe('state version', () => {
    it('is 0 on an empty store', async () => {
      const { store: s } = await open();
      expect(await s.readStateVersion()).toBe(0);
    });

    it('moves on every change of the desired state: start, new token, restart, stop', async () => {
      const { store: s } = await open();
      expect(await moved(s, () => s.setDesired('l', 'tok'))).toBeGreaterThan(0);
      expect(await moved(s, () => s.setDesired('l', 'tok-2'))).toBeGreaterThan(0);
      expect(await moved(s, () => s.setDesired('l'))).toBeGreaterThan(0);
      expect(await moved(s, () => s.setDesired('l', 'tok-2', true))).toBeGreaterThan(0);
      expect(await moved(s, () => s.removeDesired('l'))).toBeGreaterThan(0);
    });

    it('moves on every claim and release, single and sharded', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      await s.setDesired('k', 'tok-k');
      expect(await moved(s, () => s.claimListener('l', 'a', 1))).toBeGreaterThan(0);
      expect(await moved(s, () => s.releaseListener('l', 'a'))).toBeGreaterThan(0);
      let generation = 0;
      const plan = [{ listenerId: 'k', instanceId: 'b' }];
      expect(
        await moved(s, async () => {
          const stored = await s.writeAssignments('a', 1, plan);
          if (stored.ok) generation = stored.generation;
        }),
      ).toBeGreaterThan(0);
      expect(
        await moved(s, () => s.claimListener('k', 'b', 0, null, undefined, generation)),
      ).toBeGreaterThan(0);
      // A batch with one refused and one applied claim: the applied one moves the version.
      const batch = [
        { listenerId: 'none', instanceId: 'a', epoch: 1 },
        { listenerId: 'l', instanceId: 'a', epoch: 1 },
      ];
      expect(await moved(s, () => s.claimListeners(batch))).toBeGreaterThan(0);
    });

    it('does not move on refusals and on writes that change nothing', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      await s.claimListener('l', 'a', 1);
      // A replayed start with the stored token changes nothing (same generation).
      expect(await moved(s, () => s.setDesired('l', 'tok'))).toBe(0);
      expect(await moved(s, () => s.setDesired('none'))).toBe(0); // NOT_DESIRED
      expect(await moved(s, () => s.removeDesired('none'))).toBe(0);
      expect(await moved(s, () => s.claimListener('l', 'b', 1))).toBe(0); // NOT_HOLDER
      expect(await moved(s, () => s.claimListener('l', 'a', 2))).toBe(0); // STALE_EPOCH
      expect(await moved(s, () => s.releaseListener('l', 'b'))).toBe(0); // NOT_HOLDER
      const plan = [{ listenerId: 'l', instanceId: 'b' }];
      expect(await moved(s, () => s.writeAssignments('b', 1, plan))).toBe(0); // NOT_HOLDER
      expect(await moved(s, () => s.writeAssignments('a', 2, plan))).toBe(0); // STALE_EPOCH
      expect(await moved(s, () => s.claimListener('l', 'b', 0, undefined, undefined, 9))).toBe(0);
    });

    it('does not move on reads, the registry, statuses, emits or the lock', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      await s.claimListener('l', 'a', 1);
      const quiet = async () => {
        await s.listDesired();
        await s.readOwners();
        await s.readAssignments();
        await s.readTokens(['l']);
        await s.registerInstance({ id: 'a', role: 'leader' }, LONG);
        await s.heartbeatInstance({ id: 'a', role: 'leader' }, LONG);
        await s.listInstances();
        await s.writeStatus('l', status);
        await s.emit('l', 'a', 1, 'm1', 'p1');
        await s.renewLock('a', 1, LONG);
        await s.publish({ type: 'resync' });
      };
      expect(await moved(s, quiet)).toBe(0);
    });
  });
}
