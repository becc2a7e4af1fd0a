/**
 * The ownership-log part of the store contract: every successful claim and release appends one
 * entry in the same step (listener, from, to, fence, epoch, reason, the store's time), refusals
 * append nothing, reads give the newest entries oldest first, and the log is capped.
 */
import { describe, expect, it } from 'vitest';
import { compareEventIds } from '../../src/store/memory-store.js';
import type { OwnershipLogEntry } from '../../src/store/ownership-log.js';
import type { StoreOptions } from '../../src/store/types.js';
import type { SingleStore } from '../support/singles.js';

/** A fresh store with its clock (virtual or wall). */
export type OpenTimedStore = (
  options?: Partial<StoreOptions>,
) => Promise<{ store: SingleStore; now(): number; exact: boolean }>;

const LONG = 60_000;
/** What every entry is compared on (id and time are checked apart). */
const change = ({ id: _, at: __, overlapSince: ___, ...rest }: OwnershipLogEntry) => rest;

/** Registers the ownership-log tests on stores from `open`. */
export function describeOwnershipLogContract(open: OpenTimedStore): void {
  describe('ownership log', () => {
    it('records each claim and release with from, to, fence, epoch, reason and the time', async () => {
      const h = await open();
      const s = h.store;
      const before = h.now();
      expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
      await s.setDesired('l', 'tok');
      expect(await s.claimListener('l', 'a', 1, null)).toEqual({ ok: true, fence: 1 });
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 2 });
      expect(await s.releaseListener('l', 'a')).toEqual({ ok: true });
      await s.releaseLock('a', 1);
      expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
      expect(await s.claimListener('l', 'b', 2, null)).toEqual({ ok: true, fence: 3 });
      await s.releaseLock('b', 2);
      await s.acquireLock('c', LONG);
      expect(await s.claimListener('l', 'c', 3, 'b')).toEqual({ ok: true, fence: 4 });
      const after = h.now();

      const log = await s.readOwnershipLog({ count: 100 });
      expect(log.map(change)).toEqual([
        { listenerId: 'l', from: null, to: 'a', fence: 1, epoch: 1, reason: 'claim' },
        { listenerId: 'l', from: 'a', to: 'a', fence: 2, epoch: 1, reason: 'reclaim' },
        { listenerId: 'l', from: 'a', to: null, fence: 2, epoch: 1, reason: 'release' },
        { listenerId: 'l', from: null, to: 'b', fence: 3, epoch: 2, reason: 'claim' },
        { listenerId: 'l', from: 'b', to: 'c', fence: 4, epoch: 3, reason: 'takeover' },
      ]);
      // Stream ids and times only go forward, on the store's clock (a ms of timer slack on Redis).
      const slack = h.exact ? 0 : 2;
      for (const [i, entry] of log.entries()) {
        expect(entry.at).toBeGreaterThanOrEqual(before - slack);
        expect(entry.at).toBeLessThanOrEqual(after + slack);
        if (i > 0) expect(entry.at).toBeGreaterThanOrEqual(log[i - 1]!.at);
        if (i > 0) expect(compareEventIds(entry.id, log[i - 1]!.id)).toBeGreaterThan(0);
      }
      expect(log.every((e) => e.overlapSince === undefined)).toBe(true);
    });

    it('records nothing for a refused claim or release', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      expect((await s.claimListener('l', 'b', 1)).ok).toBe(false); // NOT_HOLDER
      expect((await s.claimListener('x', 'a', 1)).ok).toBe(false); // NOT_DESIRED
      expect((await s.claimListener('l', 'a', 1, 'z')).ok).toBe(false); // OWNER_CHANGED
      expect((await s.claimListener('l', 'a', 1, undefined, 'never')).ok).toBe(false);
      expect(await s.releaseListener('l', 'a')).toEqual({ ok: false, code: 'NOT_HOLDER' });
      expect(await s.readOwnershipLog({ count: 10 })).toEqual([]);
    });

    it('marks a caught-up handoff with the time the old owner emitted the named message', async () => {
      const h = await open();
      const s = h.store;
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      await s.claimListener('l', 'a', 1);
      const emittedFrom = h.now();
      await s.emit('l', 'a', 1, 'm1', 'p1');
      await s.releaseLock('a', 1);
      await s.acquireLock('b', LONG);
      expect(await s.claimListener('l', 'b', 2, 'a', 'm1')).toEqual({ ok: true, fence: 2 });
      const [handoff] = await s.readOwnershipLog({ listenerId: 'l', count: 1 });
      expect(change(handoff!)).toEqual({
        listenerId: 'l',
        from: 'a',
        to: 'b',
        fence: 2,
        epoch: 2,
        reason: 'handoff',
      });
      const slack = h.exact ? 0 : 2;
      expect(handoff!.overlapSince).toBeGreaterThanOrEqual(emittedFrom - slack);
      expect(handoff!.overlapSince).toBeLessThanOrEqual(handoff!.at);
    });

    it('reads the newest count entries, of one listener when named, oldest first', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      for (const id of ['l', 'k']) await s.setDesired(id, `tok-${id}`);
      for (let i = 0; i < 3; i += 1) {
        await s.claimListener('l', 'a', 1);
        await s.claimListener('k', 'a', 1);
      }
      const fences = (entries: OwnershipLogEntry[]) =>
        entries.map((e) => `${e.listenerId}${e.fence}`);
      expect(fences(await s.readOwnershipLog({ count: 3 }))).toEqual(['k2', 'l3', 'k3']);
      expect(fences(await s.readOwnershipLog({ listenerId: 'l', count: 2 }))).toEqual(['l2', 'l3']);
      expect(fences(await s.readOwnershipLog({ listenerId: 'k', count: 9 }))).toEqual([
        'k1',
        'k2',
        'k3',
      ]);
      expect(await s.readOwnershipLog({ listenerId: 'none', count: 5 })).toEqual([]);
      expect(await s.readOwnershipLog({ count: 0 })).toEqual([]);
    });

    it('keeps at least the newest ownershipLogMaxLen entries (Redis trims approximately)', async () => {
      const { store: s } = await open({ ownershipLogMaxLen: 2 });
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      for (let i = 0; i < 5; i += 1) await s.claimListener('l', 'a', 1);
      const log = await s.readOwnershipLog({ count: 2 });
      expect(log.map((e) => e.fence)).toEqual([4, 5]);
    });

    it('records a sharded claim by the assignee with the current epoch', async () => {
      const { store: s } = await open();
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok');
      const plan = await s.writeAssignments('a', 1, [{ listenerId: 'l', instanceId: 'b' }]);
      expect(plan).toEqual({ ok: true, generation: 1 });
      expect(await s.claimListener('l', 'b', 0, null, undefined, 1)).toEqual({
        ok: true,
        fence: 1,
      });
      const [entry] = await s.readOwnershipLog({ count: 1 });
      expect(change(entry!)).toEqual({
        listenerId: 'l',
        from: null,
        to: 'b',
        fence: 1,
        epoch: 1,
        reason: 'claim',
      });
    });
  });
}
