/**
 * MemoryState's `events` stream: entries in id order with ids `ms-seq` as XADD assigns them
 * (never going backwards, even when the clock does), trimmed exactly to the newest `maxLen`
 * (Redis trims approximately: both keep at least the newest `maxLen`). A ring buffer: an append
 * into a full stream overwrites the oldest slot (O(1), no copying), and reads find where they
 * start by binary search on the entry ids (O(log n) plus what they return).
 */
import type { EventEntry } from './types.js';

/** A stream of entries, oldest first: the emitted events, or (typed so) the ownership log. */
export class EventLog<T extends { id: string } = EventEntry> {
  /** The ring's slots; it grows up to maxLen and then wraps (a small stream stays small). */
  private readonly slots: T[] = [];
  /** The ids' two parts per slot, so a search compares numbers, not strings. */
  private readonly msOf: number[] = [];
  private readonly seqOf: number[] = [];
  /** The slot of the oldest entry (0 until the ring first wraps). */
  private head = 0;
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly maxLen: number) {}

  /** How many entries the stream holds. */
  get length(): number {
    return this.slots.length;
  }

  /** Appends an entry at time `now` and returns it with its new id. */
  append(now: number, fields: Omit<T, 'id'>): T {
    const ms = Math.max(now, this.lastMs);
    this.lastSeq = ms === this.lastMs ? this.lastSeq + 1 : 0;
    this.lastMs = ms;
    const entry = { id: `${ms}-${this.lastSeq}`, ...fields } as T;
    let slot = this.slots.length;
    if (slot >= this.maxLen) {
      slot = this.head; // full: the oldest entry's slot takes the newest
      this.head = (this.head + 1) % this.slots.length;
    }
    this.slots[slot] = entry;
    this.msOf[slot] = ms;
    this.seqOf[slot] = this.lastSeq;
    return entry;
  }

  /** Up to `limit` entries after `afterId`, oldest first (XRANGE); nothing for a bad limit. */
  after(afterId: string, limit: number): T[] {
    const out: T[] = [];
    if (!(limit > 0)) return out; // as RedisStore: no count (NaN too) reads nothing
    const [bm, bs] = parseEventId(afterId);
    // The first entry not at or before afterId (a NaN part compares as "not at or before").
    const from = this.firstWhere((i) => !(this.compareAt(i, bm, bs) <= 0));
    for (let k = from; k < this.slots.length && out.length < limit; k++) out.push(this.at(k));
    return out;
  }

  /** Up to `limit` entries before `beforeId` (`+`: the newest), newest first (XREVRANGE). */
  before(beforeId: string, limit: number): T[] {
    const out: T[] = [];
    if (!(limit > 0)) return out; // as `after`: no count reads nothing
    let end = this.slots.length;
    if (beforeId !== '+') {
      const [bm, bs] = parseEventId(beforeId);
      end = this.firstWhere((i) => !(this.compareAt(i, bm, bs) < 0));
    }
    for (let k = end - 1; k >= 0 && out.length < limit; k--) out.push(this.at(k));
    return out;
  }

  /** Every entry, newest first (a reader stops where it has enough). */
  *newestFirst(): Generator<T> {
    for (let k = this.slots.length - 1; k >= 0; k--) yield this.at(k);
  }

  /** The k-th entry, oldest first. */
  private at(k: number): T {
    return this.slots[(this.head + k) % this.slots.length]!;
  }

  /** compareEventIds(entry k's id, `${bm}-${bs}`) on the parsed parts, oldest first. */
  private compareAt(k: number, bm: number, bs: number): number {
    const slot = (this.head + k) % this.slots.length;
    const am = this.msOf[slot]!;
    return am !== bm ? am - bm : this.seqOf[slot]! - bs;
  }

  /** The smallest k (oldest first) with `holds(k)`, or the length; `holds` is monotone in k. */
  private firstWhere(holds: (k: number) => boolean): number {
    let lo = 0;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (holds(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** A stream id's two parts as Redis orders them; a missing part is 0 (`5` is `5-0`). */
function parseEventId(id: string): [number, number] {
  const [ms = 0, seq = 0] = id.split('-').map(Number);
  return [ms, seq];
}

/** Orders stream ids (`ms-seq`) the way Redis does; '0' sorts first. */
export function compareEventIds(a: string, b: string): number {
  const [am, as] = parseEventId(a);
  const [bm, bs] = parseEventId(b);
  return am !== bm ? am - bm : as - bs;
}
