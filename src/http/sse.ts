/**
 * What every server-sent-events route shares: a cap on the streams open at once, HEAD answered
 * with headers only, keep-alive comments on the injected clock, and one `stop` that runs when the
 * client leaves. The routes (`/admin/inspect`, `/admin/events/stream`) only say what to send.
 */
import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { type Clock, sleep, type TimerId } from '../clock.js';
import { BatonError } from '../errors.js';
import { withHeaders } from './errors.js';

/** How one kind of stream is run. */
export interface SseRouteOptions {
  clock: Clock;
  /** Interval of `: keep-alive` comments (0 disables). */
  keepAliveMs: number;
  /** Most streams of this kind open at once; the next client gets 503 TOO_MANY_STREAMS. */
  maxStreams: number;
  /** What the streams carry, for the refusal message ("inspection", "events"). */
  what: string;
}

/**
 * A Hono handler that opens an SSE stream and runs `session` on it until the client leaves or
 * `session` returns. `prepare` runs first and may throw a BatonError, answered as plain JSON
 * (validation). Call it once per route: the open-stream count belongs to the handler.
 */
export function sseHandler<T>(
  options: SseRouteOptions,
  prepare: (c: Context) => T,
  session: (s: SseSession, prepared: T) => Promise<void>,
) {
  let open = 0;
  return (c: Context) => {
    const prepared = prepare(c);
    // Hono answers HEAD with the GET handler and drops the body unread: a session started
    // here would never see its client leave, so HEAD gets the headers only.
    if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': 'text/event-stream' });
    if (open >= options.maxStreams) {
      throw withHeaders(
        c,
        { 'Retry-After': '5' },
        new BatonError(
          'TOO_MANY_STREAMS',
          `at most ${options.maxStreams} ${options.what} streams at once; close one and retry`,
        ),
      );
    }
    open += 1;
    return streamSSE(c, async (stream) => {
      const s = new SseSession(stream, options, c.req.raw.signal);
      try {
        if (!s.done) await session(s, prepared);
      } finally {
        s.stop();
        open -= 1;
      }
    });
  };
}

/** One open stream: write to `stream` while `done` is false; `onStop` registers clean-ups. */
export class SseSession {
  private readonly stopped = new AbortController();
  private keepAlive: TimerId | null = null;

  constructor(
    readonly stream: SSEStreamingApi,
    private readonly options: SseRouteOptions,
    request: AbortSignal,
  ) {
    stream.onAbort(() => this.stop());
    request.addEventListener('abort', () => this.stop(), { once: true });
    if (request.aborted) this.stop();
    this.scheduleKeepAlive();
  }

  /** True once the client left or the session ended. */
  get done(): boolean {
    return this.stopped.signal.aborted;
  }

  /** Runs `fn` once when the session stops (at once if it already has). */
  onStop(fn: () => void): void {
    if (this.done) fn();
    else this.stopped.signal.addEventListener('abort', fn, { once: true });
  }

  /** Resolves after `ms` on the clock, or as soon as the session stops. */
  async pause(ms: number): Promise<void> {
    await sleep(this.options.clock, ms, this.stopped.signal).catch(() => undefined);
  }

  /** Idempotent: cancels the keep-alive and runs the `onStop` clean-ups. */
  stop(): void {
    if (this.done) return;
    if (this.keepAlive !== null) this.options.clock.cancel(this.keepAlive);
    this.keepAlive = null;
    this.stopped.abort();
  }

  private scheduleKeepAlive(): void {
    if (this.options.keepAliveMs <= 0 || this.done) return;
    this.keepAlive = this.options.clock.schedule(() => {
      if (this.done) return;
      void this.stream.write(': keep-alive\n\n');
      this.scheduleKeepAlive();
    }, this.options.keepAliveMs);
  }
}
