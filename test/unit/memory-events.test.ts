/**
 * MemoryState's event stream (a ring buffer read by binary search) at its cap and across
 * wrap-arounds: what it keeps and what each read returns, by hand at the edges and against a
 * plain list (append, trim to the cap, filter) under random appends and reads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../src/store/memory-events.js';
import type { EventEntry } from '../../src/store/types.js';
import { ListEventLog } from '../support/list-event-log.js';

const fields = (payload: string): Omit<EventEntry, 'id'> => ({
  listenerId: 'l',
  msgId: payload,
  fence: 1,
  owner: 'a',
  payload,
});
const payloads = (entries: EventEntry[]) => entries.map((e) => e.payload);

/** A stream of `n` appends at times 1000, 1000, 1001, 1001, ... into a cap of `maxLen`. */
function filled(maxLen: number, n: number): { log: EventLog; all: EventEntry[] } {
  const log = new EventLog(maxLen);
  const all = Array.from({ length: n }, (_, i) => log.append(1000 + (i >> 1), fields(`p${i}`)));
  return { log, all };
}

describe('EventLog at its cap', () => {
  it('keeps the newest maxLen in order before, at and after the first wrap, and after many', () => {
    for (const n of [2, 3, 4, 5, 7, 11, 30]) {
      const { log, all } = filled(3, n);
      const kept = all.slice(-3);
      expect(log.length).toBe(Math.min(3, n));
      expect(log.after('0', 100)).toEqual(kept);
      expect(log.before('+', 100)).toEqual([...kept].reverse());
    }
  });

  it('with a cap of 1 holds only the newest entry', () => {
    const { log, all } = filled(1, 4);
    expect(log.after('0', 10)).toEqual([all[3]]);
    expect(log.before('+', 10)).toEqual([all[3]]);
    expect(log.after(all[3]!.id, 10)).toEqual([]);
    expect(log.before(all[3]!.id, 10)).toEqual([]);
  });

  it('reads after and before ids inside the wrapped ring, trimmed ids and ids past the end', () => {
    const { log, all } = filled(4, 10); // keeps p6..p9, oldest in the middle of the ring
    expect(payloads(log.after(all[7]!.id, 10))).toEqual(['p8', 'p9']);
    expect(payloads(log.after(all[7]!.id, 1))).toEqual(['p8']);
    expect(payloads(log.before(all[8]!.id, 10))).toEqual(['p7', 'p6']);
    // An id trimmed away: after it is the whole kept stream, before it nothing.
    expect(payloads(log.after(all[2]!.id, 10))).toEqual(['p6', 'p7', 'p8', 'p9']);
    expect(log.before(all[2]!.id, 10)).toEqual([]);
    expect(log.after(all[9]!.id, 10)).toEqual([]);
    expect(payloads(log.before('9999999-0', 2))).toEqual(['p9', 'p8']);
    // A millisecond alone is `ms-0`: after it comes that millisecond's second entry.
    expect(payloads(log.after('1003', 10))).toEqual(['p7', 'p8', 'p9']);
  });

  it('keeps ids increasing when the clock goes back, across the wrap', () => {
    const log = new EventLog(2);
    const ids = [5000, 4000, 4000, 6000, 1].map((t, i) => log.append(t, fields(`p${i}`)).id);
    expect(ids).toEqual(['5000-0', '5000-1', '5000-2', '6000-0', '6000-1']);
    expect(payloads(log.after('5000-2', 10))).toEqual(['p3', 'p4']);
  });
});

describe('EventLog against a plain list', () => {
  const op = fc.oneof(
    fc.record({ append: fc.integer({ min: 0, max: 20 }) }),
    fc.record({
      read: fc.constantFrom('after', 'before'),
      id: fc.oneof(
        fc.nat(40), // the index of an id appended so far (kept or trimmed)
        fc.constantFrom('0', '+', '-', '', 'x', '3-x', '10', '10-', '1-2-3', '99999-0'),
      ),
      limit: fc.constantFrom(0, -1, Number.NaN, 1, 1.5, 2, 3, 100),
    }),
  );
  it('answers every read as the list does, whatever the cap and the appends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 60 }), (cap, ops) => {
        const ring = new EventLog(cap);
        const list = new ListEventLog(cap);
        const ids: string[] = [];
        let t = 0;
        for (const o of ops) {
          if ('append' in o) {
            t += o.append - 5; // sometimes backwards, often the same millisecond
            const e = ring.append(t, fields(`p${ids.length}`));
            ids.push(e.id);
            list.add(e);
            continue;
          }
          const id = typeof o.id === 'number' ? (ids[o.id] ?? '0') : o.id;
          const read = o.read === 'after' ? 'after' : 'before';
          expect(ring[read](id, o.limit)).toEqual(list[read](id, o.limit));
        }
        expect(ring.after('0', Infinity)).toEqual(list.entries);
      }),
      { numRuns: 1000 },
    );
  });
});
