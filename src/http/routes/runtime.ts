/**
 * What this instance runs: `GET /admin/machines`, `GET /admin/actors`, and `GET /admin/inspect`, a
 * server-sent-events stream of inspection records with a bounded per-client buffer.
 */
import { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { Clock, TimerId } from '../../clock.js';
import { BatonError } from '../../errors.js';
import type { InspectionRecord } from '../../runtime/view.js';
import type { ResolvedDeps } from '../app.js';
import { BoundedQueue } from '../bounded-queue.js';
import { withHeaders } from '../errors.js';
import { methodNotAllowed } from './method.js';

/** The runtime router (mounted under /admin). Answers from this instance's view, not the store. */
export function runtimeRoutes(d: ResolvedDeps) {
  let open = 0;
  return new Hono()
    .get('/machines', (c) => c.json(d.view.machineDefinitions()))
    .get('/actors', (c) => {
      const actors = d.view.actorSnapshots();
      return c.json({ instance_id: d.view.instanceId, count: actors.length, actors });
    })
    .get('/inspect', (c) => {
      // Hono answers HEAD with the GET handler and drops the body unread: a session started
      // here would never see its client leave, so HEAD gets the headers only.
      if (c.req.method === 'HEAD')
        return c.body(null, 200, { 'Content-Type': 'text/event-stream' });
      if (open >= d.maxInspectStreams) {
        throw withHeaders(
          c,
          { 'Retry-After': '5' },
          new BatonError(
            'TOO_MANY_STREAMS',
            `at most ${d.maxInspectStreams} inspection streams at once; close one and retry`,
          ),
        );
      }
      open += 1;
      return streamSSE(c, async (stream) => {
        try {
          const session = new InspectSession(stream, d, c.req.raw.signal);
          await session.run();
        } finally {
          open -= 1;
        }
      });
    })
    .all('/machines', methodNotAllowed('GET'))
    .all('/actors', methodNotAllowed('GET'))
    .all('/inspect', methodNotAllowed('GET'));
}

/**
 * One SSE client. Events: `hello` (instance id, buffer size), `inspection` (one record, numbered
 * ids), `dropped` ({dropped: n} records lost because the client read too slowly).
 */
class InspectSession {
  private readonly queue: BoundedQueue<InspectionRecord>;
  private readonly clock: Clock;
  private unsubscribe: (() => void) | null = null;
  private keepAlive: TimerId | null = null;
  private done = false;
  private seq = 0;

  constructor(
    private readonly stream: SSEStreamingApi,
    private readonly d: ResolvedDeps,
    signal: AbortSignal,
  ) {
    this.queue = new BoundedQueue(d.inspectBufferSize);
    this.clock = d.clock;
    stream.onAbort(() => this.stop());
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  async run(): Promise<void> {
    if (this.done) return;
    try {
      this.unsubscribe = this.d.view.onInspection((record) => this.queue.push(record));
      this.scheduleKeepAlive();
      await this.stream.writeSSE({
        event: 'hello',
        data: JSON.stringify({ instance_id: this.d.view.instanceId, buffer: this.queue.capacity }),
      });
      while (!this.done) {
        await this.queue.wait();
        await this.flush();
      }
    } finally {
      this.stop();
    }
  }

  private async flush(): Promise<void> {
    for (;;) {
      if (this.done) return;
      const dropped = this.queue.takeDropped();
      if (dropped > 0)
        await this.stream.writeSSE({ event: 'dropped', data: JSON.stringify({ dropped }) });
      const record = this.queue.shift();
      if (record === undefined) return;
      this.seq += 1;
      await this.stream.writeSSE({
        event: 'inspection',
        id: String(this.seq),
        data: serialise(record),
      });
    }
  }

  private scheduleKeepAlive(): void {
    if (this.d.inspectKeepAliveMs <= 0 || this.done) return;
    this.keepAlive = this.clock.schedule(() => {
      if (this.done) return;
      void this.stream.write(': keep-alive\n\n');
      this.scheduleKeepAlive();
    }, this.d.inspectKeepAliveMs);
  }

  /** Idempotent: unsubscribes, cancels the keep-alive, and ends the loop. */
  private stop(): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.keepAlive !== null) this.clock.cancel(this.keepAlive);
    this.queue.close();
  }
}

/** JSON of a record; one that cannot be serialised (cycle, BigInt) is sent without its value. */
function serialise(record: InspectionRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify({ ...record, value: '[unserialisable]' });
  }
}
