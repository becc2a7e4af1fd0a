/**
 * The one place real time enters Baton. Everything else reads time and schedules work through an
 * injected `Clock`, so the simulator can run the real code under virtual time.
 */

/** Opaque handle of a scheduled callback. */
export type TimerId = unknown;

/**
 * Time source and scheduler. `now()` is wall-clock ms (it can jump when the clock is stepped): for
 * timestamps shown to people. `monotonic()` is ms on a timeline that never jumps (arbitrary
 * origin): every duration and deadline (leases, timeouts) is measured on it, so a wall-clock step
 * can never extend a lease. Timers run on the monotonic timeline.
 */
export interface Clock {
  now(): number;
  monotonic(): number;
  schedule(fn: () => void, delayMs: number): TimerId;
  cancel(id: TimerId): void;
}

/** The XState clock shape (`createActor(logic, { clock })`). */
export interface XStateClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Real time: `Date.now()`, `performance.now()` and Node timers. */
export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    schedule: (fn, delayMs) => setTimeout(fn, Math.max(0, delayMs)),
    cancel: (id) => clearTimeout(id as NodeJS.Timeout),
  };
}

/** Adapts a Clock to the interface XState's actors use for `after` and delayed events. */
export function toXStateClock(clock: Clock): XStateClock {
  return {
    // XState calls `fn` with no arguments: hand it over as is, no wrapper closure per timer.
    setTimeout: (fn, timeout) => clock.schedule(fn as () => void, timeout),
    clearTimeout: (id) => clock.cancel(id),
  };
}

/** A wait of `ms` on `clock` that `wake()` ends early; `done` resolves either way, once. */
export function wakeableDelay(clock: Clock, ms: number): { done: Promise<void>; wake: () => void } {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const timer = clock.schedule(() => resolve(), ms);
    wake = () => {
      clock.cancel(timer);
      resolve();
    };
  });
  return { done, wake };
}

/** Resolves after `ms` on `clock`; rejects with the signal's reason if aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.cancel(id);
      reject(signal?.reason);
    };
    const id = clock.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A manual clock for unit tests: time moves only when `advance` is called, and timers fire one
 * deadline at a time in order (unlike XState's SimulatedClock.increment, which jumps to the end).
 */
export class ManualClock implements Clock {
  /** The monotonic timeline, which timers run on. */
  private time: number;
  /** Wall minus monotonic: moved only by `step`. */
  private wallOffset = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; seq: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time + this.wallOffset;
  }

  monotonic(): number {
    return this.time;
  }

  /** Steps the wall clock by `ms` (negative = backwards), as NTP would; timers are unaffected. */
  step(ms: number): void {
    this.wallOffset += ms;
  }

  schedule(fn: () => void, delayMs: number): TimerId {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + Math.max(0, delayMs), seq: id, fn });
    return id;
  }

  cancel(id: TimerId): void {
    this.timers.delete(id as number);
  }

  /** Moves time forward by `ms`, firing each due timer at its own deadline. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }

  /** Number of timers still scheduled. */
  pending(): number {
    return this.timers.size;
  }

  private nextDue(end: number): [number, { at: number; seq: number; fn: () => void }] | undefined {
    let best: [number, { at: number; seq: number; fn: () => void }] | undefined;
    for (const entry of this.timers) {
      if (entry[1].at > end) continue;
      if (
        !best ||
        entry[1].at < best[1].at ||
        (entry[1].at === best[1].at && entry[1].seq < best[1].seq)
      ) {
        best = entry;
      }
    }
    return best;
  }
}
