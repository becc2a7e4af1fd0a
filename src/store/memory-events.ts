/**
 * MemoryState's `events` stream: entries in id order with ids `ms-seq` as XADD assigns them
 * (never going backwards, even when the clock does), trimmed exactly to the newest `maxLen`
 * (Redis trims approximately: both keep at least the newest `maxLen`).
 */
import type { EventEntry } from './types.js';

/** A stream of entries, oldest first: the emitted events, or (typed so) the ownership log. */
export class EventLog<T extends { id: string } = EventEntry> {
  private readonly entries: T[] = [];
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly maxLen: number) {}

  /** Appends an entry at time `now` and returns it with its new id. */
  append(now: number, fields: Omit<T, 'id'>): T {
    const ms = Math.max(now, this.lastMs);
    this.lastSeq = ms === this.lastMs ? this.lastSeq + 1 : 0;
    this.lastMs = ms;
    const entry = { id: `${ms}-${this.lastSeq}`, ...fields } as T;
    this.entries.push(entry);
    if (this.entries.length > this.maxLen) {
      this.entries.splice(0, this.entries.length - this.maxLen);
    }
    return entry;
  }

  /** Up to `limit` entries after `afterId`, oldest first (XRANGE); nothing for a bad limit. */
  after(afterId: string, limit: number): T[] {
    const out: T[] = [];
    if (!(limit > 0)) return out; // as RedisStore: no count (NaN too) reads nothing
    for (const entry of this.entries) {
      if (out.length >= limit) break;
      if (compareEventIds(entry.id, afterId) <= 0) continue;
      out.push(entry);
    }
    return out;
  }

  /** Up to `limit` entries before `beforeId` (`+`: the newest), newest first (XREVRANGE). */
  before(beforeId: string, limit: number): T[] {
    const out: T[] = [];
    if (!(limit > 0)) return out; // as `after`: no count reads nothing
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i]!;
      if (beforeId === '+' || compareEventIds(entry.id, beforeId) < 0) out.push(entry);
    }
    return out;
  }

  /** Every entry, newest first (a reader stops where it has enough). */
  *newestFirst(): Generator<T> {
    for (let i = this.entries.length - 1; i >= 0; i--) yield this.entries[i]!;
  }
}

/** Orders stream ids (`ms-seq`) the way Redis does; '0' sorts first. */
export function compareEventIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
