/**
 * When a listener's pump sends its next run (issue 11: Redis calls and CPU per message). Every
 * run costs a fixed handful of Redis calls (owner, fence, dedup upkeep) whatever its length, and
 * every script call costs a socket write and a round trip, so a listener receiving a message every
 * few milliseconds that sent each one on its own would cost several calls per message.
 *
 * Like Nagle's algorithm and Kafka's `linger.ms`, a listener sends at most one run per beat of
 * `lingerMs`; a run due sooner waits for the next beat and takes what gathered meanwhile. The
 * beats are one grid on the monotonic clock for the whole process, so every busy listener's run
 * goes out on the same tick and the store client packs them into a few scripts (one write and
 * one round trip for many listeners) instead of one script per listener at scattered times. A
 * listener quiet for a beat sends at once, so a lone message waits for nothing, and a full run
 * never waits.
 */
import type { Clock } from '../clock.js';

/** The earliest monotonic time the next run may go out: at or before now means at once. */
export function nextRunAt(
  queued: number,
  lastRunAt: number,
  lingerMs: number,
  runMax: number,
): number {
  if (lingerMs <= 0 || queued >= runMax) return Number.NEGATIVE_INFINITY;
  return (Math.floor(lastRunAt / lingerMs) + 1) * lingerMs;
}

/** A wait for a beat; `wake()` ends it early. `done` resolves either way, once. */
export interface BeatWait {
  done: Promise<void>;
  wake(): void;
}

/**
 * The process's beats: one timer per beat however many links wait for it, and every waiter woken
 * in the same callback, so their pumps all run before the store client's next flush.
 */
export class Beat {
  private readonly waiting = new Map<number, Set<() => void>>();

  constructor(
    private readonly clock: Clock,
    readonly lingerMs: number,
  ) {}

  /** Waits until `at` (a value `nextRunAt` returned) or until `wake()`. */
  wait(at: number): BeatWait {
    const waiters = this.waiting.get(at) ?? this.arm(at);
    let resolve = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    waiters.add(resolve);
    return {
      done,
      wake: () => {
        waiters.delete(resolve);
        resolve();
      },
    };
  }

  /** The timer of the beat at `at`, and the set it wakes. */
  private arm(at: number): Set<() => void> {
    const waiters = new Set<() => void>();
    this.waiting.set(at, waiters);
    this.clock.schedule(() => {
      this.waiting.delete(at);
      for (const resolve of waiters) resolve();
    }, at - this.clock.monotonic());
    return waiters;
  }
}
