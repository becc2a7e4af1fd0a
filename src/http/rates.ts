/**
 * `GET /admin/rates`: per-second rates of messages (emitted, duplicate, stale) and handoffs, from a
 * small ring of counter samples taken on the injected clock. Sampling starts with the first read
 * and stops after a minute without one, so the ring costs nothing while nobody watches.
 */
import { Hono } from 'hono';
import type { Clock, TimerId } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { ResolvedDeps } from './app.js';
import { methodNotAllowed } from './routes/method.js';

/** The series the dashboard draws, in its order. */
export const RATE_SERIES = ['emitted', 'duplicate', 'stale', 'handoffs'] as const;

/** One of the rate series. */
export type RateSeries = (typeof RATE_SERIES)[number];

/** Cumulative counter values at one clock time. */
export interface RateSample {
  t: number;
  totals: Record<RateSeries, number>;
}

/** Options of `RatesRing`, defaults spread once and validated. */
export interface RatesOptions {
  /** Time between samples (default 1 s). */
  intervalMs?: number;
  /** Samples kept (default 120: two minutes at one a second). */
  capacity?: number;
  /** Sampling stops this long after the last read (default 60 s). */
  idleStopMs?: number;
}

/** Ring of counter samples, read as per-second rates between neighbours. */
export class RatesRing {
  private readonly samples: RateSample[] = [];
  private readonly opts: Required<RatesOptions>;
  private timer: TimerId | null = null;
  private lastRead = 0;

  constructor(
    private readonly metrics: Metrics,
    private readonly clock: Clock,
    options: RatesOptions = {},
  ) {
    this.opts = Object.freeze({
      intervalMs: options.intervalMs ?? 1_000,
      capacity: options.capacity ?? 120,
      idleStopMs: options.idleStopMs ?? 60_000,
    });
    for (const [name, value] of Object.entries(this.opts)) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer`);
    }
  }

  /** Takes one sample now (dropping the oldest past capacity). */
  async sample(): Promise<void> {
    // The time of the tick, not of the counters' (asynchronous) answer.
    const t = this.clock.now();
    const [messages, handoffs] = await Promise.all([
      this.metrics.messages.get(),
      this.metrics.handoffs.get(),
    ]);
    const byResult = (result: string) =>
      messages.values.filter((v) => v.labels.result === result).reduce((a, v) => a + v.value, 0);
    this.samples.push({
      t,
      totals: {
        emitted: byResult('emitted'),
        duplicate: byResult('duplicate'),
        stale: byResult('stale'),
        handoffs: handoffs.values.reduce((a, v) => a + v.value, 0),
      },
    });
    if (this.samples.length > this.opts.capacity) this.samples.shift();
  }

  /** Marks a read: starts sampling if it was stopped, and returns the rates so far. */
  async read(): Promise<RatesReport> {
    this.lastRead = this.clock.now();
    if (this.timer === null) {
      await this.sample();
      this.schedule();
    }
    return this.report();
  }

  /** Per-second rates between consecutive samples, oldest first. */
  report(): RatesReport {
    const points: RatesReport['points'] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      const seconds = Math.max(1, b.t - a.t) / 1000;
      const rate = (s: RateSeries) => Math.max(0, b.totals[s] - a.totals[s]) / seconds;
      points.push({ t: b.t, ...Object.fromEntries(RATE_SERIES.map((s) => [s, rate(s)])) } as {
        t: number;
      } & Record<RateSeries, number>);
    }
    const last = this.samples.at(-1);
    return {
      interval_ms: this.opts.intervalMs,
      series: [...RATE_SERIES],
      totals: last ? last.totals : null,
      points,
    };
  }

  /** Cancels the sampling timer (it also stops by itself when nobody reads). */
  stop(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = this.clock.schedule(() => {
      if (this.clock.now() - this.lastRead >= this.opts.idleStopMs) {
        this.timer = null;
        return;
      }
      void this.sample().finally(() => {
        if (this.timer !== null) this.schedule();
      });
    }, this.opts.intervalMs);
  }
}

/** The `GET /admin/rates` answer. */
export interface RatesReport {
  interval_ms: number;
  series: RateSeries[];
  /** Counter totals at the newest sample, null before the first. */
  totals: Record<RateSeries, number> | null;
  points: Array<{ t: number } & Record<RateSeries, number>>;
}

/** The rates router (mounted under /admin). */
export function rateRoutes(d: ResolvedDeps) {
  const ring = new RatesRing(d.metrics, d.clock);
  return new Hono()
    .get('/rates', async (c) => c.json(await ring.read()))
    .all('/rates', methodNotAllowed('GET'));
}
