/**
 * The presence part of the store contract: an instance is present while its presence
 * subscription lives, the read takes a list of ids, and deposeLock takes the lock from an absent
 * holder only, bumping the epoch so every fenced call of the deposed holder is refused.
 */
import { describe, expect, it } from 'vitest';
import type { OpenStore } from './contract-spec.js';

const LONG = 60_000;

/** Registers the presence tests on stores from `open`. */
export function describePresenceContract(open: OpenStore): void {
  describe('presence', () => {
    it('reads each id present while announced, absent once withdrawn, in order', async () => {
      const { store: s } = await open();
      expect(await s.readPresence([])).toEqual([]);
      expect(await s.readPresence(['a', 'b'])).toEqual([false, false]);
      const withdrawA = await s.announcePresence('a');
      const withdrawB = await s.announcePresence('b');
      expect(await s.readPresence(['b', 'x', 'a'])).toEqual([true, false, true]);
      await withdrawA();
      expect(await s.readPresence(['a', 'b'])).toEqual([false, true]);
      await withdrawB();
      expect(await s.readPresence(['a', 'b'])).toEqual([false, false]);
    });

    it('deposes an absent holder: new holder, epoch bumped, the old holder refused', async () => {
      const { store: s } = await open();
      expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
      await s.setDesired('l', 'tok');
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 1 });
      const withdraw = await s.announcePresence('a');
      expect(await s.deposeLock('b', 'a', LONG)).toEqual({ ok: false, code: 'PRESENT' });
      expect((await s.readLock()).holder).toBe('a');
      await withdraw();
      expect(await s.deposeLock('b', 'a', LONG)).toEqual({ ok: true, epoch: 2 });
      const lock = await s.readLock();
      expect(lock.holder).toBe('b');
      expect(lock.epoch).toBe(2);
      expect(lock.ttl).toBeGreaterThan(LONG - 5_000);
      expect(await s.renewLock('a', 1, LONG)).toEqual({ ok: false, code: 'NOT_HOLDER' });
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: false, code: 'NOT_HOLDER' });
      expect(await s.claimListener('l', 'b', 2)).toEqual({ ok: true, fence: 2 });
      expect(await s.emit('l', 'a', 1, 'm1', 'p')).toMatchObject({ result: 'stale' });
      // Deposing again names a holder that no longer holds it.
      expect(await s.deposeLock('c', 'a', LONG)).toEqual({ ok: false, code: 'NOT_HOLDER' });
    });

    it('refuses a non-positive TTL as acquireLock does', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await expect(s.deposeLock('b', 'a', 0)).rejects.toThrow();
    });
  });
}
