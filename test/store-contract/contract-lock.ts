/**
 * The leader lock part of the store contract: acquire, renew and release by the holder only, the
 * epoch moving on every new holder, and expiry on the store's clock (exact on a virtual clock).
 */
import { describe, expect, it } from 'vitest';
import {
  type ContractOpen,
  eventually,
  expectTtl,
  LONG,
  OK,
  refused,
  T,
} from './contract-harness.js';

/** Registers the leader lock tests inside the contract suite of one store. */
export function describeLockContract(open: ContractOpen): void {
  describe('leader lock', () => {
    it('is acquired, renewed and released by its holder', async () => {
      const h = await open();
      const s = h.store;
      expect(await s.readLock()).toEqual({ holder: null, epoch: 0, ttl: -1 });
      expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
      const lock = await s.readLock();
      expect({ ...lock, ttl: 0 }).toEqual({ holder: 'a', epoch: 1, ttl: 0 });
      expectTtl(h, lock.ttl, LONG);
      const held = await s.acquireLock('b', LONG);
      expect({ ...held, ttl: 0 }).toEqual({ ok: false, code: 'HELD', holder: 'a', ttl: 0 });
      // HELD says how long the lock has left: a waiting instance retries when it expires.
      expectTtl(h, held.ok ? -1 : held.ttl, LONG);
      expect(await s.renewLock('a', 1, LONG)).toEqual(OK);
      expect(await s.releaseLock('a', 1)).toEqual(OK);
      expect(await s.readLock()).toEqual({ holder: null, epoch: 1, ttl: -1 });
      expect(await s.releaseLock('a', 1)).toEqual(refused('NOT_HOLDER'));
      expect(await s.renewLock('a', 1, LONG)).toEqual(refused('NOT_HOLDER'));
    });

    it('refuses renew, release and claim by a non-holder (NOT_HOLDER)', async () => {
      const h = await open();
      const s = h.store;
      await s.setDesired('l', 'tok');
      expect(await s.claimListener('l', 'a', 0)).toEqual(refused('NOT_HOLDER'));
      expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
      expect(await s.renewLock('b', 1, LONG)).toEqual(refused('NOT_HOLDER'));
      expect(await s.releaseLock('b', 1)).toEqual(refused('NOT_HOLDER'));
      expect(await s.claimListener('l', 'b', 1)).toEqual(refused('NOT_HOLDER'));
      expect(await s.claimListener('l', 'b', 1, null)).toEqual(refused('NOT_HOLDER'));
      expect((await s.readLock()).holder).toBe('a');
      expect(await s.readOwners()).toEqual([]);
    });

    it('expires at its TTL unless renewed', async () => {
      const h = await open();
      const s = h.store;
      const start = h.now();
      await s.acquireLock('a', T);
      await h.advance(T * 0.6);
      expect(await s.renewLock('a', 1, T)).toEqual(OK);
      await h.advance(T * 0.6); // past the first TTL: only the renewal keeps it
      expect((await s.readLock()).holder).toBe('a');
      const held = await s.acquireLock('b', T);
      expectTtl(h, held.ok ? -1 : held.ttl, T * 0.4);
      if (h.exact) {
        expect((await s.readLock()).ttl).toBe(T * 0.4);
        await h.advance(T * 0.4 - 1);
        expect((await s.readLock()).holder).toBe('a');
        await h.advance(1);
      } else {
        await h.advance(T * 0.4);
      }
      await eventually(async () =>
        expect(await s.readLock()).toEqual({ holder: null, epoch: 1, ttl: -1 }),
      );
      expect(h.now() - start).toBeGreaterThanOrEqual(T * 1.6);
      expect(await s.renewLock('a', 1, T)).toEqual(refused('NOT_HOLDER'));
    });

    it('keeps the epoch and refreshes the TTL when the holder acquires again', async () => {
      const h = await open();
      const s = h.store;
      expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 1 });
      await h.advance(T * 0.6);
      expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 1 });
      await h.advance(T * 0.6);
      const lock = await s.readLock();
      expect({ holder: lock.holder, epoch: lock.epoch }).toEqual({ holder: 'a', epoch: 1 });
      expectTtl(h, lock.ttl, T * 0.4);
    });

    it('increments the epoch on every new acquisition, after a release or an expiry', async () => {
      const h = await open();
      const s = h.store;
      expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
      expect(await s.releaseLock('a', 1)).toEqual(OK);
      expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
      expect(await s.releaseLock('b', 2)).toEqual(OK);
      expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 3 });
      await h.advance(T);
      await eventually(async () => expect((await s.readLock()).holder).toBeNull());
      expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 4 });
      expect((await s.readLock()).epoch).toBe(4);
    });

    it('refuses a stale epoch after the lock expired and was re-acquired (STALE_EPOCH)', async () => {
      const h = await open();
      const s = h.store;
      await s.setDesired('l', 'tok');
      expect(await s.acquireLock('a', T)).toEqual({ ok: true, epoch: 1 });
      await h.advance(T);
      await eventually(async () => expect((await s.readLock()).holder).toBeNull());
      expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 2 });
      expect(await s.renewLock('a', 1, LONG)).toEqual(refused('STALE_EPOCH'));
      expect(await s.releaseLock('a', 1)).toEqual(refused('STALE_EPOCH'));
      expect(await s.claimListener('l', 'a', 1)).toEqual(refused('STALE_EPOCH'));
      expect(await s.renewLock('a', 3, LONG)).toEqual(refused('STALE_EPOCH'));
      expect(await s.renewLock('a', 2, LONG)).toEqual(OK);
      expect(await s.claimListener('l', 'a', 2)).toEqual({ ok: true, fence: 1 });
      expect((await s.readLock()).holder).toBe('a');
    });
  });
}
