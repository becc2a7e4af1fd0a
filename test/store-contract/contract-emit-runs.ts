/**
 * The emit part of the store contract that the grouped emit script (emit-n.lua) takes shortcuts
 * on: a run whose ids are all new is checked and remembered at once, and must leave the dedup
 * window exactly as message-by-message emits would (the cap included); a run too long for the
 * shortcut, runs of several listeners side by side, and a run that changes encoding midway must
 * keep every message's result and the stream's order.
 */
import { describe, expect, it } from 'vitest';
import type { EmitRequest, StoreOptions } from '../../src/store/types.js';
import type { OpenStore } from './contract-spec.js';

const LONG = 60_000;

const msg = (listenerId: string, msgId: string, encoding?: 'base64'): EmitRequest => ({
  listenerId,
  owner: 'a',
  fence: 1,
  msgId,
  payload: `p-${listenerId}-${msgId}`,
  ...(encoding ? { encoding } : {}),
});

/** Registers the grouped-emit tests on stores from `open`. */
export function describeEmitRunsContract(open: OpenStore): void {
  const owning = async (ids: readonly string[], options: Partial<StoreOptions> = {}) => {
    const { store: s } = await open(options);
    expect(await s.acquireLock('a', LONG)).toEqual({ ok: true, epoch: 1 });
    for (const id of ids) {
      await s.setDesired(id, `tok-${id}`);
      expect(await s.claimListener(id, 'a', 1)).toEqual({ ok: true, fence: 1 });
    }
    return s;
  };

  describe('emit runs', () => {
    it('a run of new ids past the cap keeps the newest ids, as one-by-one emits would', async () => {
      const s = await owning(['l'], { dedupMaxEntries: 3 });
      for (const id of ['a', 'b'])
        expect((await s.emit('l', 'a', 1, id, id)).result).toBe('emitted');
      const results = await s.emitMany(['c', 'd', 'e'].map((id) => msg('l', id)));
      expect(results.map((r) => r.result)).toEqual(['emitted', 'emitted', 'emitted']);
      // a and b were evicted by the cap (oldest first); c, d, e are remembered.
      expect(await s.wasEmitted('l', 'a')).toBe(false);
      expect(await s.wasEmitted('l', 'b')).toBe(false);
      for (const id of ['c', 'd', 'e']) expect(await s.wasEmitted('l', id)).toBe(true);
      // The oldest of the run is the next one out: b comes back and evicts c, not e.
      expect((await s.emit('l', 'a', 1, 'b', 'b again')).result).toBe('emitted');
      expect(await s.wasEmitted('l', 'c')).toBe(false);
      expect((await s.emit('l', 'a', 1, 'e', 'e again')).result).toBe('duplicate');
    });

    it('a run holding an id the cap forgets within the run treats it as one-by-one emits would', async () => {
      const s = await owning(['l'], { dedupMaxEntries: 3 });
      const first = await s.emitMany(['a', 'b', 'c'].map((id) => msg('l', id)));
      expect(first.map((r) => r.result)).toEqual(['emitted', 'emitted', 'emitted']);
      // d evicts a, so the a after it is new again (and evicts b); c is still there.
      const results = await s.emitMany(['d', 'a', 'c', 'e'].map((id) => msg('l', id)));
      expect(results.map((r) => r.result)).toEqual(['emitted', 'emitted', 'duplicate', 'emitted']);
      // e evicted c: the window holds d, a, e, and a run of only known ids changes nothing.
      for (const id of ['b', 'c']) expect(await s.wasEmitted('l', id)).toBe(false);
      const known = await s.emitMany(['d', 'a', 'e'].map((id) => msg('l', id)));
      expect(known.map((r) => r.result)).toEqual(['duplicate', 'duplicate', 'duplicate']);
      // The oldest remembered is d, then a: one new id evicts d only.
      expect((await s.emit('l', 'a', 1, 'f', 'f')).result).toBe('emitted');
      expect(await s.wasEmitted('l', 'd')).toBe(false);
      for (const id of ['a', 'e', 'f']) expect(await s.wasEmitted('l', id)).toBe(true);
    });

    it('runs of several listeners in one batch, encodings mixed inside a run, keep order', async () => {
      const s = await owning(['l', 'k']);
      const batch = [
        msg('l', '1'),
        msg('l', '2', 'base64'),
        msg('l', '3'),
        msg('k', '1'),
        msg('k', '1', 'base64'), // the same id across an encoding change is still a duplicate
        msg('l', '1'),
        msg('l', '4'),
      ];
      const results = await s.emitMany(batch);
      expect(results.map((r) => r.result)).toEqual([
        'emitted',
        'emitted',
        'emitted',
        'emitted',
        'duplicate',
        'duplicate',
        'emitted',
      ]);
      const events = await s.readEvents('0', 20);
      expect(events.map((e) => `${e.listenerId}:${e.msgId}:${e.encoding ?? 'text'}`)).toEqual([
        'l:1:text',
        'l:2:base64',
        'l:3:text',
        'k:1:text',
        'l:4:text',
      ]);
      expect(events.map((e) => e.payload)).toEqual(['p-l-1', 'p-l-2', 'p-l-3', 'p-k-1', 'p-l-4']);
    });

    it('a run longer than any shortcut emits every message in order, then knows each id', async () => {
      const s = await owning(['l']);
      const ids = Array.from({ length: 1500 }, (_, i) => `m${i}`);
      const results = await s.emitMany(ids.map((id) => msg('l', id)));
      expect(results.every((r) => r.result === 'emitted')).toBe(true);
      const events = await s.readEvents('0', 2000);
      expect(events.map((e) => e.msgId)).toEqual(ids);
      const again = await s.emitMany(['m0', 'm1499', 'new'].map((id) => msg('l', id)));
      expect(again.map((r) => r.result)).toEqual(['duplicate', 'duplicate', 'emitted']);
    });
  });
}
