/**
 * The output, read by a newcomer: a real service (its built-in demo feed, the demo listener) on a
 * real Redis and on the embedded store; `GET /admin/events`, its SSE variant and `baton tail`
 * (over the API and straight from Redis) show the demo listener's messages and never its token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EXIT, runCli } from '../../src/cli/run.js';
import { systemClock } from '../../src/clock.js';
import { configFromOverrides } from '../../src/config.js';
import type { EventJson as Line } from '../../src/http/routes/events.js';
import { silentLogger } from '../../src/log.js';
import { systemRng } from '../../src/rng.js';
import { type Service, startService } from '../../src/service.js';
import { compareEventIds } from '../../src/store/memory-store.js';
import { type RedisServer, randomPrefix, startRedisServer } from '../support/redis-server.js';

const TOKEN = 'tok-demo-secret-5d1c';

let redis: RedisServer;
const services: Service[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  for (const s of services) await s.stop();
  await redis?.stop();
});

/** A service with the demo feed and the demo listener desired, as `npm start` runs it. */
async function demoService(redisUrl: string | undefined) {
  const prefix = randomPrefix('tail');
  const config = configFromOverrides({
    http: { host: '127.0.0.1', port: 0 },
    store: { redisUrl, prefix },
    warmup: { listeners: 0 },
    lock: { lockRetryMs: 300 },
  });
  const service = await startService(config, {
    clock: systemClock(),
    rng: systemRng(),
    logger: silentLogger(),
  });
  services.push(service);
  await service.store.setDesired('demo-1', TOKEN);
  await service.store.publish({ type: 'desired', listenerId: 'demo-1' });
  return { service, prefix, url: `http://127.0.0.1:${service.server.port}` };
}

/** Runs the CLI; `stopWhen` aborts a `--follow` once the output satisfies it. */
async function baton(argv: string[], stopWhen?: (lines: Line[]) => boolean) {
  let stdout = '';
  let stderr = '';
  const stop = new AbortController();
  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  const code = await runCli(argv, {
    stdout: {
      write: (t: string) => {
        stdout += t;
        if (stopWhen?.(lines())) stop.abort();
      },
    },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
    signal: stop.signal,
  });
  return { code: code as (typeof EXIT)[keyof typeof EXIT], stdout, stderr, lines: lines() };
}

async function waitForEvents(url: string, n: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/admin/events?listener_id=demo-1`);
    const body = (await res.json()) as { events: Line[] };
    if (body.events.length >= n) return body.events;
    if (Date.now() > deadline) throw new Error(`fewer than ${n} demo events after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads SSE `event` frames from the stream route until `n` arrived. */
async function streamEvents(url: string, n: number): Promise<Line[]> {
  const abort = new AbortController();
  const res = await fetch(`${url}/admin/events/stream?listener_id=demo-1`, {
    signal: abort.signal,
  });
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const out: Line[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    for (const m of buffer.matchAll(/event: event\ndata: ([^\n]*)\nid: [^\n]*\n\n/g)) {
      out.push(JSON.parse(m[1]!) as Line);
    }
    buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
    if (out.length >= n) break;
  }
  abort.abort();
  return out;
}

describe.each([
  ['Redis', true],
  ['the embedded store', false],
])('the demo listener on %s', (_name, onRedis) => {
  let url: string;
  let service: Service;

  beforeAll(async () => {
    ({ url, service } = await demoService(onRedis ? redis.url : undefined));
  });

  it('GET /admin/events shows its messages, with the stream fields and no token', async () => {
    const events = await waitForEvents(url, 2);
    const res = await fetch(`${url}/admin/events?listener_id=demo-1&count=2`);
    const text = await res.text();
    expect(text).not.toContain(TOKEN);
    const first = (JSON.parse(text) as { events: Line[] }).events[0]!;
    expect(first).toEqual(events[0]);
    expect(Object.keys(first).sort()).toEqual(
      ['fence', 'id', 'listener_id', 'msg_id', 'owner', 'payload'].sort(),
    );
    expect(first.owner).toBe(service.runtime.instanceId);
    expect(first.msg_id).toMatch(/^demo-1-\d+$/);
    expect(JSON.parse(first.payload)).toMatchObject({ id: first.msg_id, text: 'demo tick' });
  });

  it('the SSE variant follows: it delivers entries written after it opened', async () => {
    const before = await waitForEvents(url, 1);
    const streamed = await streamEvents(url, before.length + 1);
    expect(streamed.slice(0, before.length)).toEqual(before.slice(0, streamed.length));
    const lastSeq = (e: Line) => Number(e.msg_id.split('-').pop());
    expect(lastSeq(streamed.at(-1)!)).toBeGreaterThan(lastSeq(before.at(-1)!));
  });

  it('baton tail --url prints them as JSON lines; --follow keeps printing new ones', async () => {
    const events = await waitForEvents(url, 2);
    const page = await baton(['tail', '--url', url, '--listener', 'demo-1', '--after', '0']);
    expect(page.code).toBe(0);
    expect(page.lines.slice(0, events.length)).toEqual(events);
    expect(page.stdout).not.toContain(TOKEN);
    const after = page.lines.at(-1)!.id;
    const followed = await baton(
      ['tail', '--url', url, '--listener', 'demo-1', '--after', after, '--follow'],
      (lines) => lines.length >= 1,
    );
    expect(followed.code).toBe(0);
    expect(compareEventIds(followed.lines[0]!.id, after)).toBeGreaterThan(0);
    expect(followed.lines[0]!.listener_id).toBe('demo-1');
  });

  it('baton tail without --after shows the latest --count entries, then follows on from them', async () => {
    const seen = await waitForEvents(url, 3);
    const latest = await baton(['tail', '--url', url, '--listener', 'demo-1', '--count', '2']);
    expect(latest.code).toBe(0);
    expect(latest.lines).toHaveLength(2);
    // Not the first two: the newest shown is at least the newest seen before the read.
    expect(compareEventIds(latest.lines[1]!.id, seen.at(-1)!.id)).toBeGreaterThanOrEqual(0);
    // The newest two at the time of the read: nothing of demo-1 older than the second is missing.
    const all = await waitForEvents(url, 3);
    const at = all.findIndex((e) => e.id === latest.lines[1]!.id);
    expect(at).toBeGreaterThan(0);
    expect(all.slice(at - 1, at + 1)).toEqual(latest.lines);
    const followed = await baton(
      ['tail', '--url', url, '--listener', 'demo-1', '--count', '1', '--follow'],
      (lines) => lines.length >= 2,
    );
    expect(followed.code).toBe(0);
    expect(compareEventIds(followed.lines[1]!.id, followed.lines[0]!.id)).toBeGreaterThan(0);
    expect(compareEventIds(followed.lines[0]!.id, latest.lines[1]!.id)).toBeGreaterThanOrEqual(0);
  });

  it('baton tail refuses bad parameters as usage errors (exit 64)', async () => {
    for (const bad of [
      ['--count', '0'],
      ['--after', 'later'],
      ['--listener', 'a/b'],
    ]) {
      const r = await baton(['tail', '--url', url, ...bad]);
      expect([bad, r.code]).toEqual([bad, 64]);
      expect(r.stdout).toBe('');
    }
  });
});

describe('baton tail --redis', () => {
  it('baton tail --redis reads the stream straight from Redis', async () => {
    const { url, prefix } = await demoService(redis.url);
    const events = await waitForEvents(url, 2);
    const args = ['tail', '--redis', redis.url, '--prefix', prefix, '--listener', 'demo-1'];
    const page = await baton([...args, '--after', '0', '--count', '2']);
    expect(page.code).toBe(0);
    expect(page.lines).toEqual(events.slice(0, 2));
    const followed = await baton(
      [...args, '--after', events.at(-1)!.id, '--follow'],
      (lines) => lines.length >= 1,
    );
    expect(followed.code).toBe(0);
    expect(followed.lines[0]!.msg_id).not.toBe(events.at(-1)!.msg_id);
    expect(followed.stdout).not.toContain(TOKEN);
    // Without --after: the latest entries, the newest last, then new ones as they come.
    const tail = await baton([...args, '--count', '2', '--follow'], (lines) => lines.length >= 3);
    expect(tail.code).toBe(0);
    const ids = tail.lines.map((e) => e.id);
    expect([...ids].sort(compareEventIds)).toEqual(ids);
    expect(compareEventIds(ids[0]!, events.at(-1)!.id)).toBeGreaterThanOrEqual(0);
  });
});
