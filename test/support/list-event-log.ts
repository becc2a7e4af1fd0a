/**
 * The events stream as a plain list (append, trim the front with `splice`, filter linearly): what
 * MemoryState's EventLog did before it was a ring buffer. The ring's unit test checks every read
 * against it, and `npm run bench:events` measures the ring against it.
 */
import { compareEventIds } from '../../src/store/memory-events.js';
import type { EventEntry } from '../../src/store/types.js';

/** See the module comment. */
export class ListEventLog {
  readonly entries: EventEntry[] = [];
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly maxLen: number) {}

  /** Appends an entry with an id as XADD assigns it (never backwards), trimming to maxLen. */
  append(now: number, fields: Omit<EventEntry, 'id'>): EventEntry {
    const ms = Math.max(now, this.lastMs);
    this.lastSeq = ms === this.lastMs ? this.lastSeq + 1 : 0;
    this.lastMs = ms;
    const entry: EventEntry = { id: `${ms}-${this.lastSeq}`, ...fields };
    this.add(entry);
    return entry;
  }

  /** Appends an entry that already has its id. */
  add(entry: EventEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.maxLen) {
      this.entries.splice(0, this.entries.length - this.maxLen);
    }
  }

  /** Up to `limit` entries after `id`, oldest first. */
  after(id: string, limit: number): EventEntry[] {
    const out: EventEntry[] = [];
    for (const e of this.entries) {
      if (!(out.length < limit)) break;
      if (!(compareEventIds(e.id, id) <= 0)) out.push(e);
    }
    return out;
  }

  /** Up to `limit` entries before `id` (`+`: the newest), newest first. */
  before(id: string, limit: number): EventEntry[] {
    const out: EventEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.entries[i]!;
      if (id === '+' || compareEventIds(e.id, id) < 0) out.push(e);
    }
    return out;
  }
}
