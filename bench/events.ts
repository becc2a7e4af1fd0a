/**
 * `npm run bench:events [-- --caps 10000,100000,1000000 --ms 1000]`: appends per second into a
 * full events stream of MemoryState, the ring buffer (EventLog) against the list it replaced
 * (append + `splice` of the front, test/support/list-event-log.ts), same process, same entries;
 * then the cost of a tail read (`before('+', 100)`) and of a read after an id in the middle.
 * Figures only (quote the load average).
 */
import { parseArgs } from 'node:util';
import { EventLog } from '../src/store/memory-events.js';
import type { EventEntry } from '../src/store/types.js';
import { ListEventLog } from '../test/support/list-event-log.js';
import { loadavg } from './support.js';

const { values } = parseArgs({
  options: {
    caps: { type: 'string', default: '10000,100000,1000000' },
    ms: { type: 'string', default: '1000' },
  },
});
const CAPS = values.caps.split(',').map(Number);
const MS = Number(values.ms);

interface Log {
  append(now: number, fields: Omit<EventEntry, 'id'>): EventEntry;
  after(id: string, limit: number): EventEntry[];
  before(id: string, limit: number): EventEntry[];
}

const fields = { listenerId: 'l-1', msgId: 'm', fence: 1, owner: 'a', payload: '{"id":"m"}' };

/** Fills `log` to its cap, then appends for MS of wall time: appends per second. */
function appendsPerSecond(log: Log, cap: number): number {
  let t = 1_700_000_000_000;
  for (let i = 0; i < cap; i++) log.append(t++, fields);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < MS) {
    for (let k = 0; k < 64; k++) log.append(t++, fields);
    n += 64;
  }
  return (n * 1000) / (performance.now() - start);
}

/** Mean µs of `read` over repeated calls for about 200 ms. */
function readUs(read: () => EventEntry[]): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 200) {
    if (read().length === 0) throw new Error('empty read');
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

const loadAtStart = loadavg();
console.log(`bench:events  appends into a full stream for ${MS} ms per cap`);
console.log(
  'cap        ring appends/s   list appends/s   ring/list   tail read µs ring/list   mid read µs ring/list',
);
for (const cap of CAPS) {
  const ring = new EventLog(cap);
  const list = new ListEventLog(cap);
  const r = appendsPerSecond(ring, cap);
  const l = appendsPerSecond(list, cap);
  // An id in the middle of each stream (they appended different counts in the same time).
  const midOf = (log: Log) => log.after('0', Math.ceil(cap / 2)).at(-1)!.id;
  const [ringMid, listMid] = [midOf(ring), midOf(list)];
  const tail = `${readUs(() => ring.before('+', 100)).toFixed(1)} / ${readUs(() => list.before('+', 100)).toFixed(1)}`;
  const middle = `${readUs(() => ring.after(ringMid, 100)).toFixed(1)} / ${readUs(() => list.after(listMid, 100)).toFixed(1)}`;
  console.log(
    `${String(cap).padEnd(10)}${r.toFixed(0).padStart(15)}${l.toFixed(0).padStart(17)}${(r / l).toFixed(1).padStart(12)}${tail.padStart(25)}${middle.padStart(24)}`,
  );
}
console.log(`load average ${loadAtStart} at start, ${loadavg()} at end`);
