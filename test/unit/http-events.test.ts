import { describe, expect, it } from 'vitest';
import { MAX_EVENTS_COUNT, MAX_EVENTS_SCAN } from '../../src/http/routes/events.js';
import type { CoordinationStore } from '../../src/store/types.js';
import { AUTH, type Fixture, fixture } from '../support/http-fixture.js';
import { singles } from '../support/singles.js';

const TOKEN = 'tok-demo-secret-7f3a';

/** Owns `ids` on the fixture's store as `leader-1` (tokens stored), ready for `emit`. */
async function owned(raw: CoordinationStore, ids: string[]) {
  const store = singles(raw);
  const lock = await store.acquireLock('leader-1', 30_000);
  if (!lock.ok) throw new Error('lock');
  const fences = new Map<string, number>();
  for (const id of ids) {
    await store.setDesired(id, `${TOKEN}-${id}`);
    const claim = await store.claimListener(id, 'leader-1', lock.epoch);
    if (!claim.ok) throw new Error('claim');
    fences.set(id, claim.fence);
  }
  return async (id: string, n: number) => {
    const payload = JSON.stringify({ id: `${id}-${n}`, seq: n, text: 'demo tick' });
    const r = await store.emit(id, 'leader-1', fences.get(id)!, `${id}-${n}`, payload);
    if (r.result !== 'emitted') throw new Error(r.result);
    return r.entryId;
  };
}

const get = (f: Fixture, query = '') => f.call(`/admin/events${query}`, { headers: AUTH });

describe('GET /admin/events', () => {
  it("pages through the demo listener's messages, oldest first, with the stream's fields only", async () => {
    const f = fixture();
    const emit = await owned(f.store, ['demo-1']);
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await emit('demo-1', n));
    const first = await get(f, '?count=3');
    expect(first.status).toBe(200);
    expect(first.json.count).toBe(3);
    expect(first.json.events[0]).toEqual({
      id: ids[0],
      listener_id: 'demo-1',
      msg_id: 'demo-1-1',
      fence: 1,
      owner: 'leader-1',
      payload: JSON.stringify({ id: 'demo-1-1', seq: 1, text: 'demo tick' }),
    });
    expect(first.json.next).toBe(ids[2]);
    const second = await get(f, `?count=3&after=${first.json.next}`);
    expect(second.json.events.map((e: { msg_id: string }) => e.msg_id)).toEqual([
      'demo-1-4',
      'demo-1-5',
    ]);
    expect(second.json.next).toBe(ids[4]);
    // At the end: nothing, and the cursor stays where it was.
    const end = await get(f, `?after=${second.json.next}`);
    expect(end.json).toEqual({ count: 0, events: [], next: ids[4] });
  });

  it('filters by listener_id, and `next` moves past what the filter skipped', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['a', 'b']);
    for (let n = 1; n <= 4; n++) {
      await emit('a', n);
      await emit('b', n);
    }
    const r = await get(f, '?listener_id=b&count=2');
    expect(r.json.events.map((e: { msg_id: string }) => e.msg_id)).toEqual(['b-1', 'b-2']);
    const rest = await get(f, `?listener_id=b&after=${r.json.next}`);
    expect(rest.json.events.map((e: { msg_id: string }) => e.msg_id)).toEqual(['b-3', 'b-4']);
    expect((await get(f, '?listener_id=nobody')).json.count).toBe(0);
  });

  it('a filtered page reads a bounded number of entries and says where it stopped', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['noise', 'rare']);
    for (let n = 1; n <= MAX_EVENTS_SCAN + 5; n++) await emit('noise', n);
    await emit('rare', 1);
    const reads: number[] = [];
    const readEvents = f.store.readEvents.bind(f.store);
    f.store.readEvents = async (after, limit) => {
      reads.push(limit);
      return readEvents(after, limit);
    };
    const first = await get(f, '?listener_id=rare');
    expect(first.json.count).toBe(0);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_EVENTS_SCAN);
    const next = await get(f, `?listener_id=rare&after=${first.json.next}`);
    expect(next.json.events.map((e: { msg_id: string }) => e.msg_id)).toEqual(['rare-1']);
  });

  it('before=$ answers the latest entries, oldest first; prev pages backward, next follows on', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['a', 'b']);
    const ids: string[] = [];
    for (let n = 1; n <= 4; n++) ids.push(await emit('a', n), await emit('b', n));
    const latest = await get(f, '?before=$&count=3');
    expect(latest.status).toBe(200);
    expect(latest.json.events.map((e: { id: string }) => e.id)).toEqual(ids.slice(5));
    expect(latest.json.next).toBe(ids[7]);
    expect(latest.json.prev).toBe(ids[5]);
    const older = await get(f, `?before=${latest.json.prev}&count=3`);
    expect(older.json.events.map((e: { id: string }) => e.id)).toEqual(ids.slice(2, 5));
    // Filtered: the latest two of `a`, though `b` wrote last; the start reached, prev is null.
    const ofA = await get(f, '?before=$&count=10&listener_id=a');
    expect(ofA.json.events.map((e: { msg_id: string }) => e.msg_id)).toEqual([
      'a-1',
      'a-2',
      'a-3',
      'a-4',
    ]);
    expect(ofA.json.next).toBe(ids[7]);
    expect(ofA.json.prev).toBeNull();
    // after=$ is "from now": nothing yet, and `next` is the newest entry to page on from.
    const now = await get(f, '?after=$');
    expect(now.json).toEqual({ count: 0, events: [], next: ids[7] });
    const empty = fixture();
    expect((await get(empty, '?before=$')).json).toEqual({
      count: 0,
      events: [],
      next: '0',
      prev: null,
    });
    expect((await get(empty, '?after=$')).json.next).toBe('0');
  });

  it('refuses bad parameters with 400 and the error model', async () => {
    const f = fixture();
    const cases: [string, string][] = [
      ['?count=0', 'INVALID_PARAMETER'],
      [`?count=${MAX_EVENTS_COUNT + 1}`, 'INVALID_PARAMETER'],
      ['?count=ten', 'INVALID_PARAMETER'],
      ['?count=1.5', 'INVALID_PARAMETER'],
      ['?after=yesterday', 'INVALID_PARAMETER'],
      ['?after=1-2-3', 'INVALID_PARAMETER'],
      ['?before=soon', 'INVALID_PARAMETER'],
      ['?before=$&after=0', 'INVALID_PARAMETER'],
      ['?listener=x', 'INVALID_PARAMETER'],
      ['?listener_id=a/b', 'INVALID_LISTENER_ID'],
      ['?listener_id=', 'INVALID_LISTENER_ID'],
    ];
    for (const [query, code] of cases) {
      const r = await get(f, query);
      expect([query, r.status]).toEqual([query, 400]);
      expect(Object.keys(r.json)).toEqual(['error']);
      expect(r.json.error.code).toBe(code);
      expect(typeof r.json.error.message).toBe('string');
    }
    const stream = await f.call('/admin/events/stream?count=5', { headers: AUTH });
    expect(stream.status).toBe(400);
    expect(stream.json.error.code).toBe('INVALID_PARAMETER');
  });

  it('needs the admin token, answers 405 to other methods, 503 when the store is down', async () => {
    const f = fixture();
    expect((await f.call('/admin/events')).status).toBe(401);
    expect((await f.call('/admin/events/stream')).status).toBe(401);
    const post = await f.call('/admin/events', { method: 'POST', headers: AUTH });
    expect(post.status).toBe(405);
    f.store.readEvents = async () => {
      throw new Error(`connection to redis://user:${TOKEN}@db lost`);
    };
    const down = await get(f);
    expect(down.status).toBe(503);
    expect(down.json.error.code).toBe('STORE_UNAVAILABLE');
  });

  it('marks entries from binary frames with encoding=base64, and only those', async () => {
    const f = fixture();
    await owned(f.store, ['bin']);
    const bytes = Buffer.from([0, 255, 1]).toString('base64');
    const request = { listenerId: 'bin', owner: 'leader-1', fence: 1, payload: bytes };
    await f.store.emitMany([{ ...request, msgId: 'b-1', encoding: 'base64' }]);
    await f.store.emitMany([{ ...request, msgId: 't-1', payload: 'text' }]);
    const page = await get(f, '?listener_id=bin');
    expect(page.json.events.map((e: object) => ('encoding' in e ? e.encoding : null))).toEqual([
      'base64',
      null,
    ]);
    expect(page.json.events[0].payload).toBe(bytes);
  });

  it('never answers with a token', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['demo-1', 'x']);
    await emit('demo-1', 1);
    await emit('x', 1);
    await get(f);
    await get(f, '?listener_id=x');
    expect(f.bodies.join('\n')).not.toContain(TOKEN);
    expect(f.appStore.tokenReads).toBe(0);
  });
});

/** SSE frames of a response body, read until `done` holds. */
function frames(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const out: { event?: string; id?: string; data?: string }[] = [];
  let buffer = '';
  return {
    out,
    reader,
    async until(done: () => boolean) {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error('stream ended early');
        buffer += decoder.decode(value, { stream: true });
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const frame: { event?: string; id?: string; data?: string } = {};
          for (const line of buffer.slice(0, cut).split('\n')) {
            const m = /^(event|data|id): ?(.*)$/.exec(line);
            if (m) frame[m[1] as 'event' | 'id' | 'data'] = m[2];
          }
          out.push(frame);
          buffer = buffer.slice(cut + 2);
        }
      }
    },
  };
}
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const entries = (out: { event?: string; data?: string }[]) =>
  out.filter((e) => e.event === 'event').map((e) => JSON.parse(e.data!) as { msg_id: string });

describe('GET /admin/events/stream (server-sent events)', () => {
  it('sends what is there, then follows new entries as they are written', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['demo-1', 'other']);
    await emit('demo-1', 1);
    await emit('other', 1);
    const res = await f.app.request('/admin/events/stream?listener_id=demo-1', { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const sse = frames(res.body!);
    await sse.until(() => entries(sse.out).length >= 1);
    expect(JSON.parse(sse.out[0]!.data!)).toEqual({
      instance_id: 'instance-1-1',
      after: '0',
      listener_id: 'demo-1',
    });
    await emit('other', 2);
    const id2 = await emit('demo-1', 2);
    // The stream polls on the injected clock: nothing new until it advances.
    await tick();
    f.clock.advance(250);
    await sse.until(() => entries(sse.out).length >= 2);
    expect(entries(sse.out).map((e) => e.msg_id)).toEqual(['demo-1-1', 'demo-1-2']);
    expect(sse.out.at(-1)?.id).toBe(id2);
    await sse.reader.cancel();
    await tick();
    expect(f.clock.pending()).toBe(0);
  });

  it('after=$ follows from now: only entries written after the stream opened', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['demo-1']);
    await emit('demo-1', 1);
    const res = await f.app.request('/admin/events/stream?after=$', { headers: AUTH });
    expect(res.status).toBe(200);
    const sse = frames(res.body!);
    await sse.until(() => sse.out.some((e) => e.event === 'hello'));
    await tick();
    await emit('demo-1', 2);
    await tick();
    f.clock.advance(250);
    await sse.until(() => entries(sse.out).length >= 1);
    expect(entries(sse.out).map((e) => e.msg_id)).toEqual(['demo-1-2']);
    await sse.reader.cancel();
  });

  it('resumes after Last-Event-ID, and `after` wins over it', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['demo-1']);
    const id1 = await emit('demo-1', 1);
    await emit('demo-1', 2);
    const resumed = await f.app.request('/admin/events/stream', {
      headers: { ...AUTH, 'last-event-id': id1 },
    });
    const sse = frames(resumed.body!);
    await sse.until(() => entries(sse.out).length >= 1);
    expect(entries(sse.out).map((e) => e.msg_id)).toEqual(['demo-1-2']);
    await sse.reader.cancel();
    const explicit = await f.app.request('/admin/events/stream?after=0', {
      headers: { ...AUTH, 'last-event-id': id1 },
    });
    const again = frames(explicit.body!);
    await again.until(() => entries(again.out).length >= 2);
    expect(entries(again.out).map((e) => e.msg_id)).toEqual(['demo-1-1', 'demo-1-2']);
    await again.reader.cancel();
    const bad = await f.call('/admin/events/stream', {
      headers: { ...AUTH, 'last-event-id': 'nope' },
    });
    expect(bad.status).toBe(400);
  });

  it('says when the store is unreachable, keeps trying, and goes on when it is back', async () => {
    const f = fixture();
    const emit = await owned(f.store, ['demo-1']);
    await emit('demo-1', 1);
    const readEvents = f.store.readEvents.bind(f.store);
    let down = true;
    f.store.readEvents = async (after, limit) => {
      if (down) throw new Error('ECONNREFUSED');
      return readEvents(after, limit);
    };
    const res = await f.app.request('/admin/events/stream', { headers: AUTH });
    const sse = frames(res.body!);
    await sse.until(() => sse.out.some((e) => e.event === 'unavailable'));
    expect(JSON.parse(sse.out.find((e) => e.event === 'unavailable')!.data!).error.code).toBe(
      'STORE_UNAVAILABLE',
    );
    down = false;
    await tick();
    f.clock.advance(250);
    await sse.until(() => entries(sse.out).length >= 1);
    expect(sse.out.map((e) => e.event)).toEqual(['hello', 'unavailable', 'recovered', 'event']);
    await sse.reader.cancel();
  });

  it('at most maxInspectStreams event streams at once (503 TOO_MANY_STREAMS)', async () => {
    const f = fixture({ maxInspectStreams: 1 });
    const abort = new AbortController();
    const first = await f.app.request('/admin/events/stream', {
      headers: AUTH,
      signal: abort.signal,
    });
    await frames(first.body!).until(() => true);
    const refused = await f.call('/admin/events/stream', { headers: AUTH });
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('TOO_MANY_STREAMS');
    abort.abort();
    await tick();
    const admitted = await f.app.request('/admin/events/stream', { headers: AUTH });
    expect(admitted.status).toBe(200);
    await admitted.body!.cancel();
  });
});
