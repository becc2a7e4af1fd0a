import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/http/bounded-queue.js';
import type { InspectionRecord } from '../../src/runtime/view.js';
import { AUTH, fixture } from '../support/http-fixture.js';

interface SseEvent {
  event?: string;
  data?: string;
  id?: string;
  comment?: string;
}

/** Reads SSE frames from a response body until `done(events)` holds. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = '';
  return {
    events,
    reader,
    async until(done: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
      while (!done(events)) {
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error('stream ended early');
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = {};
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim();
            const m = /^(event|data|id): ?(.*)$/.exec(line);
            if (m) event[m[1] as 'event' | 'data' | 'id'] = m[2];
          }
          events.push(event);
          cut = buffer.indexOf('\n\n');
        }
      }
      return events;
    },
  };
}

const record = (n: number): InspectionRecord => ({
  type: '@xstate.event',
  actorId: 'l1',
  time: n,
  eventType: `e${n}`,
});
const inspections = (events: SseEvent[]) => events.filter((e) => e.event === 'inspection');
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('GET /admin/inspect (server-sent events)', () => {
  it('sends hello, then each inspection record in order, and unsubscribes when the client leaves', async () => {
    const f = fixture();
    const res = await f.app.request('/admin/inspect', { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const sse = sseReader(res.body!);
    const [hello] = await sse.until((e) => e.length >= 1);
    expect(hello).toMatchObject({ event: 'hello' });
    expect(JSON.parse(hello!.data!)).toEqual({ instance_id: 'instance-1-1', buffer: 1000 });
    expect(f.view.subscriberCount()).toBe(1);
    for (let i = 1; i <= 3; i++) f.view.emit(record(i));
    const events = await sse.until((e) => inspections(e).length >= 3);
    expect(inspections(events).map((e) => [e.id, JSON.parse(e.data!)])).toEqual([
      ['1', record(1)],
      ['2', record(2)],
      ['3', record(3)],
    ]);
    await sse.reader.cancel();
    await tick();
    expect(f.view.subscriberCount()).toBe(0);
  });

  it('a slow client gets at most the buffer plus what is in flight, and a dropped count', async () => {
    const f = fixture({ inspectBufferSize: 10 });
    const res = await f.app.request('/admin/inspect', { headers: AUTH });
    const sse = sseReader(res.body!);
    await sse.until((e) => e.length >= 1);
    const total = 5000;
    for (let i = 0; i < total; i++) f.view.emit(record(i)); // nobody reads meanwhile
    await tick();
    const events = await sse.until((e) =>
      inspections(e).some((x) => JSON.parse(x.data!).time === total - 1),
    );
    const received = inspections(events).length;
    const dropped = events
      .filter((e) => e.event === 'dropped')
      .reduce((sum, e) => sum + (JSON.parse(e.data!) as { dropped: number }).dropped, 0);
    expect(dropped).toBeGreaterThan(0);
    expect(received + dropped).toBe(total);
    // Buffer (10) plus records already handed to the stream before backpressure set in.
    expect(received).toBeLessThanOrEqual(10 + 3);
    // Oldest were dropped: what arrives last is the newest, in order.
    const times = inspections(events).map((e) => JSON.parse(e.data!).time as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => total - 10 + i));
    await sse.reader.cancel();
    await tick();
    expect(f.view.subscriberCount()).toBe(0);
  });

  it('sends keep-alive comments on the injected clock', async () => {
    const f = fixture({ inspectKeepAliveMs: 1000 });
    const res = await f.app.request('/admin/inspect', { headers: AUTH });
    const sse = sseReader(res.body!);
    await sse.until((e) => e.length >= 1);
    f.clock.advance(1000);
    const events = await sse.until((e) => e.some((x) => x.comment === 'keep-alive'));
    expect(events.filter((e) => e.comment === 'keep-alive')).toHaveLength(1);
    await sse.reader.cancel();
    await tick();
    expect(f.clock.pending()).toBe(0);
  });
});

describe('BoundedQueue', () => {
  it('keeps FIFO order within capacity', () => {
    const q = new BoundedQueue<number>(3);
    q.push(1);
    q.push(2);
    expect([q.shift(), q.shift(), q.shift()]).toEqual([1, 2, undefined]);
  });

  it('drops the oldest when full and counts the drops', () => {
    const q = new BoundedQueue<number>(3);
    for (let i = 1; i <= 10; i++) q.push(i);
    expect(q.length).toBe(3);
    expect(q.takeDropped()).toBe(7);
    expect(q.takeDropped()).toBe(0);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([8, 9, 10, undefined]);
    q.push(11);
    expect(q.shift()).toBe(11);
  });

  it('wait resolves on push and on close; pushes after close are ignored', async () => {
    const q = new BoundedQueue<number>(2);
    const waited = q.wait();
    q.push(1);
    await waited;
    expect(q.shift()).toBe(1);
    const closing = q.wait();
    q.close();
    await closing;
    q.push(2);
    expect(q.length).toBe(0);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });
});

describe('GET /admin/inspect: no leaked subscriptions', () => {
  it('HEAD answers the headers only and subscribes nothing', async () => {
    const f = fixture();
    const res = await f.app.request('/admin/inspect', { method: 'HEAD', headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    await tick();
    expect(f.view.subscriberCount()).toBe(0);
  });

  it('an aborted request unsubscribes', async () => {
    const f = fixture();
    const abort = new AbortController();
    const res = await f.app.request('/admin/inspect', { headers: AUTH, signal: abort.signal });
    const sse = sseReader(res.body!);
    await sse.until((e) => e.length >= 1);
    expect(f.view.subscriberCount()).toBe(1);
    abort.abort();
    await tick();
    expect(f.view.subscriberCount()).toBe(0);
  });
});

describe('GET /admin/inspect: a bounded number of streams', () => {
  it('refuses a stream over maxInspectStreams (503 TOO_MANY_STREAMS) and admits one when a stream closes', async () => {
    const f = fixture({ maxInspectStreams: 2 });
    const open = async () => {
      const abort = new AbortController();
      const res = await f.app.request('/admin/inspect', { headers: AUTH, signal: abort.signal });
      expect(res.status).toBe(200);
      await sseReader(res.body!).until((e) => e.length >= 1);
      return abort;
    };
    const first = await open();
    await open();
    const refused = await f.app.request('/admin/inspect', { headers: AUTH });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'TOO_MANY_STREAMS',
    );
    expect(f.view.subscriberCount()).toBe(2);
    first.abort();
    await tick();
    await open();
    expect(f.view.subscriberCount()).toBe(2);
  });
});
