/**
 * MemoryState's per-listener dedup windows, with the semantics of the sorted sets in emit-n.lua:
 * msg id -> first emission time, pruned past the window, capped at `maxEntries` (oldest
 * evicted), and the whole window dropped one window after its last write, as the Redis key's
 * PEXPIRE drops it (so a listener that stops emitting costs no memory afterwards).
 */

/**
 * One listener's window: msg id -> time first emitted, plus the same entries in insertion order
 * as a queue. Pruning walks the queue from a head index instead of iterating the Map from its
 * start, which would step over every entry deleted since the Map last rehashed.
 */
interface Window {
  readonly at: Map<string, number>;
  ids: string[];
  times: number[];
  head: number;
  /** Last write + the window length: the Redis key's expiry. */
  expiresAt: number;
}

/** Every listener's dedup window. Times are the caller's clock readings (ms). */
export class DedupWindows {
  /** Insertion order = order of last write, so expired windows are always at the front. */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Whether `msgId` was recorded for the listener within the window before `now`. */
  has(listenerId: string, msgId: string, now: number): boolean {
    return this.emittedAt(listenerId, msgId, now) !== undefined;
  }

  /** When `msgId` was recorded for the listener, if within the window before `now`. */
  emittedAt(listenerId: string, msgId: string, now: number): number | undefined {
    const at = this.live(listenerId, now)?.at.get(msgId);
    return at !== undefined && at > now - this.windowMs ? at : undefined;
  }

  /** Check-and-record, like emit-n.lua: prune, look up, remember, cap. True if already there. */
  seen(listenerId: string, msgId: string, now: number): boolean {
    this.sweep(now);
    let window = this.live(listenerId, now);
    if (!window) window = { at: new Map(), ids: [], times: [], head: 0, expiresAt: 0 };
    const { at, ids, times } = window;
    const oldest = now - this.windowMs;
    while (window.head < ids.length && times[window.head]! <= oldest) {
      at.delete(ids[window.head++]!);
    }
    if (at.has(msgId)) return true;
    at.set(msgId, now);
    ids.push(msgId);
    times.push(now);
    if (at.size > this.maxEntries) at.delete(ids[window.head++]!);
    if (window.head > 1024 && window.head * 2 > ids.length) {
      window.ids = ids.slice(window.head);
      window.times = times.slice(window.head);
      window.head = 0;
    }
    // Re-inserted at the end: the Map stays ordered by last write, as `sweep` needs.
    window.expiresAt = now + this.windowMs;
    this.windows.delete(listenerId);
    this.windows.set(listenerId, window);
    return false;
  }

  /** How many listeners have a window now (expired ones dropped first). */
  size(now: number): number {
    this.sweep(now);
    return this.windows.size;
  }

  private live(listenerId: string, now: number): Window | undefined {
    const window = this.windows.get(listenerId);
    if (window && window.expiresAt <= now) {
      this.windows.delete(listenerId);
      return undefined;
    }
    return window;
  }

  /** Drops expired windows from the front (the oldest last writes). */
  private sweep(now: number): void {
    for (const [id, window] of this.windows) {
      if (window.expiresAt > now) return;
      this.windows.delete(id);
    }
  }
}
