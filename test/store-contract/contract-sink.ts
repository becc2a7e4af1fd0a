/**
 * The output sink part of the store contract: emits accepted only from the owner at the current
 * fence, dedup by msg_id within the window and its cap, and the event stream read in order.
 */
import { describe, expect, it } from 'vitest';
import { compareEventIds } from '../../src/store/memory-store.js';
import { type ContractOpen, restOfWindow, withOwnedListener } from './contract-harness.js';

/** Registers the output sink tests inside the contract suite of one store. */
export function describeSinkContract(open: ContractOpen): void {
  describe('output sink', () => {
    it('emits for the owner at the current fence', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      const emitted = await s.emit('l', 'a', 1, 'm1', '{"id":"m1","n":1}');
      expect(emitted).toEqual({ result: 'emitted', entryId: expect.stringMatching(/^\d+-\d+$/) });
      const entryId = emitted.result === 'emitted' ? emitted.entryId : '';
      expect(await s.readEvents('0', 10)).toEqual([
        {
          id: entryId,
          listenerId: 'l',
          msgId: 'm1',
          fence: 1,
          owner: 'a',
          payload: '{"id":"m1","n":1}',
        },
      ]);
    });

    it('refuses a stale fence or a non-owner, returning the current fence', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 2 });
      expect(await s.emit('l', 'a', 1, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
      expect(await s.emit('l', 'a', 3, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
      expect(await s.emit('l', 'b', 2, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
      expect(await s.emit('x', 'a', 0, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 0 });
      await s.releaseListener('l', 'a');
      expect(await s.emit('l', 'a', 2, 'm1', 'p')).toEqual({ result: 'stale', currentFence: 2 });
      expect(await s.readEvents('0', 10)).toEqual([]);
      // A refused emit did not record its msg_id: the rightful owner emits it.
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 3 });
      expect((await s.emit('l', 'a', 3, 'm1', 'p')).result).toBe('emitted');
    });

    it('drops a duplicate msg_id per listener, across owners; never an empty msg_id', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      await s.setDesired('k', 'tok-k');
      await s.claimListener('k', 'a', 1);
      expect((await s.emit('l', 'a', 1, 'm1', 'p1')).result).toBe('emitted');
      expect(await s.emit('l', 'a', 1, 'm1', 'p1')).toEqual({ result: 'duplicate' });
      expect((await s.emit('k', 'a', 1, 'm1', 'p1')).result).toBe('emitted');
      expect((await s.emit('l', 'a', 1, '', 'no-id-1')).result).toBe('emitted');
      expect((await s.emit('l', 'a', 1, '', 'no-id-2')).result).toBe('emitted');
      expect(await s.wasEmitted('l', 'm1')).toBe(true);
      expect(await s.wasEmitted('l', 'm2')).toBe(false);
      expect(await s.wasEmitted('l', '')).toBe(false);
      expect(await s.wasEmitted('other', 'm1')).toBe(false);
      // The overlap handoff relies on this: the new owner's copy of m1 is dropped.
      expect(await s.claimListener('l', 'a', 1)).toEqual({ ok: true, fence: 2 });
      expect(await s.emit('l', 'a', 2, 'm1', 'p1')).toEqual({ result: 'duplicate' });
      const events = await s.readEvents('0', 10);
      expect(events.map((e) => [e.listenerId, e.msgId, e.payload])).toEqual([
        ['l', 'm1', 'p1'],
        ['k', 'm1', 'p1'],
        ['l', '', 'no-id-1'],
        ['l', '', 'no-id-2'],
      ]);
    });

    it('accepts a msg_id again once the dedup window has passed', async () => {
      const W = 500;
      const h = await withOwnedListener(open, { dedupWindowMs: W });
      const s = h.store;
      const start = h.now();
      expect((await s.emit('l', 'a', 1, 'm1', 'first')).result).toBe('emitted');
      await h.advance(W * 0.6);
      expect(await s.emit('l', 'a', 1, 'm1', 'again')).toEqual({ result: 'duplicate' });
      expect(await s.wasEmitted('l', 'm1')).toBe(true);
      await restOfWindow(h, W, 'm1');
      expect(h.now() - start).toBeGreaterThanOrEqual(W);
      expect((await s.emit('l', 'a', 1, 'm1', 'after')).result).toBe('emitted');
      expect(await s.emit('l', 'a', 1, 'm1', 'after')).toEqual({ result: 'duplicate' });
      expect((await s.readEvents('0', 10)).map((e) => e.payload)).toEqual(['first', 'after']);
    });

    it('remembers at most dedupMaxEntries msg_ids per listener, forgetting the oldest', async () => {
      const h = await withOwnedListener(open, { dedupMaxEntries: 2 });
      const s = h.store;
      // Ids in reverse alphabetical order: eviction must follow emission, not the id.
      for (const id of ['z', 'y', 'x'])
        expect((await s.emit('l', 'a', 1, id, id)).result).toBe('emitted');
      expect(await s.wasEmitted('l', 'z')).toBe(false);
      expect(await s.wasEmitted('l', 'y')).toBe(true);
      expect(await s.wasEmitted('l', 'x')).toBe(true);
      expect((await s.emit('l', 'a', 1, 'z', 'z')).result).toBe('emitted'); // forgets y
      expect(await s.emit('l', 'a', 1, 'x', 'x')).toEqual({ result: 'duplicate' });
      expect((await s.emit('l', 'a', 1, 'y', 'y')).result).toBe('emitted'); // forgets x
      expect(await s.emit('l', 'a', 1, 'z', 'z')).toEqual({ result: 'duplicate' });
      expect((await s.emit('l', 'a', 1, 'x', 'x')).result).toBe('emitted');
    });

    it('reads events oldest first, after an exclusive id, up to a limit', async () => {
      const h = await withOwnedListener(open);
      const s = h.store;
      for (let i = 0; i < 5; i += 1) await s.emit('l', 'a', 1, `m${i}`, `p${i}`);
      const all = await s.readEvents('0', 100);
      expect(all.map((e) => e.payload)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
      for (let i = 1; i < all.length; i += 1) {
        expect(compareEventIds(all[i - 1]!.id, all[i]!.id)).toBeLessThan(0);
      }
      expect(await s.readEvents(all[1]!.id, 2)).toEqual([all[2], all[3]]);
      expect(await s.readEvents(all[4]!.id, 10)).toEqual([]);
      expect(await s.readEvents('0', 1)).toEqual([all[0]]);
      expect(await s.readEvents('0', 0)).toEqual([]);
    });
  });
}
