/**
 * Per-process clocks over the kernel's virtual time. Each has its own offset and rate (drift) and
 * can be stepped like a wall clock under NTP: `now()` jumps, while timers keep running on the
 * monotonic rate, as Node's setTimeout does, and `monotonic()` never jumps. The store's clock is one of these too (it can jump).
 */
import type { Clock, TimerId } from '../src/clock.js';
import type { Kernel, Proc, SimEvent } from './kernel.js';

export interface SimClockOptions {
  /** Local minus global time at creation (ms). */
  offset?: number;
  /** Local ms per global ms (1 = exact; 1.001 runs fast by 1000 ppm). */
  rate?: number;
}

export class SimClock implements Clock {
  private base: number;
  private g0: number;
  private rate: number;
  private stepped = 0;

  constructor(
    private readonly kernel: Kernel,
    /** Timers are delivered to this process (null: the world, never paused). */
    private readonly proc: Proc | null,
    options: SimClockOptions = {},
  ) {
    this.g0 = kernel.now();
    this.base = this.g0 + (options.offset ?? 0);
    this.rate = options.rate ?? 1;
  }

  /** Local wall-clock time in whole ms, like Date.now(). */
  now(): number {
    return Math.floor(this.base + (this.kernel.now() - this.g0) * this.rate + this.stepped);
  }

  /** Local monotonic time: runs at the clock's rate but never jumps with `step`. */
  monotonic(): number {
    return this.base + (this.kernel.now() - this.g0) * this.rate;
  }

  schedule(fn: () => void, delayMs: number): TimerId {
    return this.kernel.after(Math.max(0, delayMs) / this.rate, this.proc, 'timer', fn);
  }

  cancel(id: TimerId): void {
    if (id) this.kernel.cancel(id as SimEvent);
  }

  /** Steps the wall clock by `ms` (negative = backwards); pending timers are unaffected. */
  step(ms: number): void {
    this.stepped += ms;
  }

  /** Changes the drift from now on. */
  setRate(rate: number): void {
    const g = this.kernel.now();
    this.base = this.base + (g - this.g0) * this.rate;
    this.g0 = g;
    this.rate = rate;
  }

  currentRate(): number {
    return this.rate;
  }
}
