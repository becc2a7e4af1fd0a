/**
 * The batch part of the store contract: claims, emits and status writes in batches, each request
 * checked on its own and in order, with dedup inside one run and the window cap applied message
 * by message, as the single-call operations would.
 */
import { describe, expect, it } from 'vitest';
import {
  type ContractOpen,
  eventually,
  LONG,
  OK,
  refused,
  restOfWindow,
  status,
  withOwnedListener,
} from './contract-harness.js';

/** Registers the batch tests inside the contract suite of one store. */
export function describeBatchesContract(open: ContractOpen): void {
  describe('batches', () => {
    it('claims a batch in order, each with its own checks, one result per claim', async () => {
      const h = await open();
      const s = h.store;
      await s.acquireLock('a', LONG);
      for (const id of ['l', 'k', 'm']) await s.setDesired(id, `tok-${id}`);
      expect(await s.claimListeners([])).toEqual([]);
      expect(
        await s.claimListeners([
          { listenerId: 'l', instanceId: 'a', epoch: 1, expectedOwner: null },
          { listenerId: 'l', instanceId: 'a', epoch: 1, expectedOwner: null }, // owned now
          { listenerId: 'k', instanceId: 'b', epoch: 1 },
          { listenerId: 'k', instanceId: 'a', epoch: 9 },
          { listenerId: 'gone', instanceId: 'a', epoch: 1 },
          { listenerId: 'l', instanceId: 'a', epoch: 1, expectedOwner: 'a' },
          { listenerId: 'm', instanceId: 'a', epoch: 1 },
        ]),
      ).toEqual([
        { ok: true, fence: 1 },
        refused('OWNER_CHANGED'),
        refused('NOT_HOLDER'),
        refused('STALE_EPOCH'),
        refused('NOT_DESIRED'),
        { ok: true, fence: 2 },
        { ok: true, fence: 1 },
      ]);
      expect(await s.readOwners()).toEqual([
        { listenerId: 'l', owner: 'a', fence: 2 },
        { listenerId: 'm', owner: 'a', fence: 1 },
      ]);
    });

    it('claims after a named msg id only once it was emitted (NOT_CAUGHT_UP), checked last', async () => {
      const W = 500;
      const h = await withOwnedListener(open, { dedupWindowMs: W });
      const s = h.store;
      await s.releaseLock('a', 1);
      expect(await s.acquireLock('b', LONG)).toEqual({ ok: true, epoch: 2 });
      // The old owner `a` has not emitted m1 yet: the successor must not claim.
      expect(await s.claimListener('l', 'b', 2, 'a', 'm1')).toEqual(refused('NOT_CAUGHT_UP'));
      // The other checks come first.
      expect(await s.claimListener('l', 'b', 2, 'x', 'm1')).toEqual(refused('OWNER_CHANGED'));
      expect(await s.claimListener('l', 'b', 1, 'a', 'm1')).toEqual(refused('STALE_EPOCH'));
      expect((await s.emit('l', 'a', 1, 'm1', 'p1')).result).toBe('emitted');
      expect(await s.readOwners()).toEqual([{ listenerId: 'l', owner: 'a', fence: 1 }]);
      expect(
        await s.claimListeners([
          { listenerId: 'l', instanceId: 'b', epoch: 2, expectedOwner: 'a', afterEmitted: 'm2' },
          { listenerId: 'l', instanceId: 'b', epoch: 2, expectedOwner: 'a', afterEmitted: 'm1' },
        ]),
      ).toEqual([refused('NOT_CAUGHT_UP'), { ok: true, fence: 2 }]);
      // From now on the old owner's writes are refused; the successor's copy of m1 is dropped.
      expect(await s.emit('l', 'a', 1, 'm2', 'p2')).toEqual({ result: 'stale', currentFence: 2 });
      expect(await s.emit('l', 'b', 2, 'm1', 'p1')).toEqual({ result: 'duplicate' });
      // A msg id older than the dedup window no longer counts as caught up.
      await h.advance(W + 1);
      await eventually(async () =>
        expect(await s.claimListener('l', 'b', 2, 'b', 'm1')).toEqual(refused('NOT_CAUGHT_UP')),
      );
    });

    it('emits a batch in order, each checked like a single emit', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      await s.setDesired('k', 'tok-k');
      expect(await s.claimListener('k', 'a', 1)).toEqual({ ok: true, fence: 1 });
      expect(await s.emitMany([])).toEqual([]);
      const results = await s.emitMany([
        { listenerId: 'l', owner: 'a', fence: 1, msgId: 'm1', payload: 'l1' },
        { listenerId: 'k', owner: 'a', fence: 1, msgId: 'm1', payload: 'k1' },
        { listenerId: 'l', owner: 'a', fence: 1, msgId: 'm1', payload: 'l1-again' },
        { listenerId: 'l', owner: 'b', fence: 1, msgId: 'm2', payload: 'not-owner' },
        { listenerId: 'k', owner: 'a', fence: 0, msgId: 'm2', payload: 'old-fence' },
        { listenerId: 'l', owner: 'a', fence: 1, msgId: '', payload: 'no-id' },
        { listenerId: 'l', owner: 'a', fence: 1, msgId: 'm2', payload: 'l2' },
      ]);
      expect(results.map((r) => r.result)).toEqual([
        'emitted',
        'emitted',
        'duplicate',
        'stale',
        'stale',
        'emitted',
        'emitted',
      ]);
      expect(results[3]).toEqual({ result: 'stale', currentFence: 1 });
      const events = await s.readEvents('0', 10);
      expect(events.map((e) => e.payload)).toEqual(['l1', 'k1', 'no-id', 'l2']);
      expect(events.map((e) => e.id)).toEqual(
        results.flatMap((r) => (r.result === 'emitted' ? [r.entryId] : [])),
      );
    });

    it('emits runs of several messages per listener in order; after a stale fence all are refused', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      await s.setDesired('k', 'tok-k');
      expect(await s.claimListener('k', 'a', 1)).toEqual({ ok: true, fence: 1 });
      const run = (listenerId: string, fence: number, ids: string[]) =>
        ids.map((msgId) => ({
          listenerId,
          owner: 'a',
          fence,
          msgId,
          payload: `${listenerId}-${msgId}`,
        }));
      const first = await s.emitMany([...run('l', 1, ['1', '2', '3']), ...run('k', 1, ['1', '2'])]);
      expect(first.map((r) => r.result)).toEqual(Array(5).fill('emitted'));
      // l is claimed again (fence 2) while a run at fence 1 is on its way: that run is refused whole.
      expect(await s.claimListener('l', 'a', 1, 'a')).toEqual({ ok: true, fence: 2 });
      const second = await s.emitMany([
        ...run('l', 2, ['4', '5']),
        ...run('l', 1, ['6', '7']),
        ...run('k', 1, ['3']),
      ]);
      expect(second).toEqual([
        { result: 'emitted', entryId: expect.any(String) },
        { result: 'emitted', entryId: expect.any(String) },
        { result: 'stale', currentFence: 2 },
        { result: 'stale', currentFence: 2 },
        { result: 'emitted', entryId: expect.any(String) },
      ]);
      const events = await s.readEvents('0', 20);
      expect(events.map((e) => e.payload)).toEqual([
        'l-1',
        'l-2',
        'l-3',
        'k-1',
        'k-2',
        'l-4',
        'l-5',
        'k-3',
      ]);
      expect(events.map((e) => e.fence)).toEqual([1, 1, 1, 1, 1, 2, 2, 1]);
    });

    it('drops duplicates inside one run, the first copy kept, and ids already in the window', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      expect((await s.emit('l', 'a', 1, 'm0', 'p0')).result).toBe('emitted');
      const ids = ['m1', 'm0', 'm1', '', 'm2', 'm2', ''];
      const results = await s.emitMany(
        ids.map((msgId, i) => ({
          listenerId: 'l',
          owner: 'a',
          fence: 1,
          msgId,
          payload: `p${i}`,
        })),
      );
      expect(results.map((r) => r.result)).toEqual([
        'emitted',
        'duplicate',
        'duplicate',
        'emitted',
        'emitted',
        'duplicate',
        'emitted',
      ]);
      expect((await s.readEvents('0', 20)).map((e) => e.payload)).toEqual([
        'p0',
        'p0',
        'p3',
        'p4',
        'p6',
      ]);
      for (const id of ['m0', 'm1', 'm2']) expect(await s.wasEmitted('l', id)).toBe(true);
    });

    it('applies the dedupMaxEntries cap message by message inside one run', async () => {
      const h = await withOwnedListener(open, { dedupMaxEntries: 2 });
      const s = h.store;
      // x, y fill the window; z evicts x, so the x after it is new again, and evicts y.
      const results = await s.emitMany(
        ['x', 'y', 'z', 'x', 'y', 'x'].map((msgId) => ({
          listenerId: 'l',
          owner: 'a',
          fence: 1,
          msgId,
          payload: msgId,
        })),
      );
      expect(results.map((r) => r.result)).toEqual([
        'emitted',
        'emitted',
        'emitted',
        'emitted',
        'emitted',
        'duplicate',
      ]);
      expect(await s.wasEmitted('l', 'z')).toBe(false);
      expect(await s.wasEmitted('l', 'x')).toBe(true);
      expect(await s.wasEmitted('l', 'y')).toBe(true);
    });

    it('remembers an id of a run for exactly the window, and the run renews the window', async () => {
      const W = 500;
      const h = await withOwnedListener(open, { dedupWindowMs: W });
      const s = h.store;
      const one = (msgId: string) => ({
        listenerId: 'l',
        owner: 'a',
        fence: 1,
        msgId,
        payload: msgId,
      });
      expect((await s.emitMany([one('m1'), one('m2')])).map((r) => r.result)).toEqual([
        'emitted',
        'emitted',
      ]);
      await h.advance(W * 0.6);
      // Still within the window: both duplicates; a new id in the same run renews the key.
      expect((await s.emitMany([one('m1'), one('m3'), one('m2')])).map((r) => r.result)).toEqual([
        'duplicate',
        'emitted',
        'duplicate',
      ]);
      await restOfWindow(h, W, 'm1');
      // m1, m2 fell out of the window; m3 (emitted later) is still in it.
      expect(await s.wasEmitted('l', 'm3')).toBe(true);
      expect((await s.emitMany([one('m2'), one('m3'), one('m1')])).map((r) => r.result)).toEqual([
        'emitted',
        'duplicate',
        'emitted',
      ]);
    });

    it('writes statuses and reads tokens in batches', async () => {
      const h = await open();
      const s = h.store;
      await s.acquireLock('a', LONG);
      await s.setDesired('l', 'tok-l');
      await s.setDesired('k', 'tok-k');
      await s.claimListener('l', 'a', 1);
      await s.claimListener('l', 'a', 1);
      expect(await s.writeStatuses([])).toEqual([]);
      expect(
        await s.writeStatuses([
          { listenerId: 'l', status: status(1) },
          { listenerId: 'l', status: status(2) },
          { listenerId: 'k', status: status(0) },
        ]),
      ).toEqual([refused('STALE_FENCE'), OK, OK]);
      expect([...(await s.readStatuses())]).toEqual([
        ['k', status(0)],
        ['l', status(2)],
      ]);
      expect(await s.readTokens([])).toEqual([]);
      expect(await s.readTokens(['k', 'none', 'l'])).toEqual(['tok-k', null, 'tok-l']);
    });
  });
}
