import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../src/metrics.js';
import { AUTH, fixture, storeState } from '../support/http-fixture.js';
import { singles } from '../support/singles.js';

const get: RequestInit = { headers: AUTH };

/** A small fleet: leader a (epoch 1), waiting b; l1 owned by a, l2 owned by dead c, l3 desired only. */
async function fleet() {
  const f = fixture({ instanceTtlMs: 60_000 });
  const s = singles(f.store);
  const lock = await s.acquireLock('a', 30_000);
  if (!lock.ok) throw new Error('lock');
  await s.registerInstance(
    { id: 'a', role: 'leader', epoch: lock.epoch, meta: { host: 'h1' } },
    60_000,
  );
  await s.registerInstance({ id: 'b', role: 'waiting' }, 60_000);
  await s.registerInstance({ id: 'c', role: 'waiting' }, 10_000);
  for (const id of ['l1', 'l2', 'l3']) await s.setDesired(id, `secret-${id}`);
  await s.claimListener('l1', 'a', lock.epoch);
  await s.releaseLock('a', lock.epoch);
  const c = await s.acquireLock('c', 30_000);
  if (!c.ok) throw new Error('lock c');
  await s.claimListener('l2', 'c', c.epoch);
  await s.releaseLock('c', c.epoch);
  const again = await s.acquireLock('a', 30_000);
  if (!again.ok) throw new Error('lock again');
  await s.writeStatus('l1', {
    state: 'live',
    owner: 'a',
    fence: 1,
    since: 5,
    attempts: 1,
    lastError: null,
  });
  f.clock.advance(10_500); // c's registry entry expires; the others have 49.5 s left
  return f;
}

describe('GET /admin/instances', () => {
  it('lists live instances with ttl in seconds and ms, the lock holder and the epoch', async () => {
    const f = await fleet();
    const r = await f.call('/admin/instances', get);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      count: 2,
      instances: [
        {
          id: 'a',
          ttl: 50,
          ttl_ms: 49_500,
          role: 'leader',
          epoch: 1,
          meta: { host: 'h1' },
          last_seen_ms_ago: 10_500,
        },
        { id: 'b', ttl: 50, ttl_ms: 49_500, role: 'waiting', last_seen_ms_ago: 10_500 },
      ],
      lock_holder: 'a',
      lock_holder_alive: true,
      lock_ttl_ms: 19_500,
      epoch: 3,
    });
  });

  it('answers an empty fleet with count 0 and no lock holder', async () => {
    const f = fixture();
    const r = await f.call('/admin/instances', get);
    expect(r.json).toEqual({
      count: 0,
      instances: [],
      lock_holder: null,
      lock_holder_alive: false,
      lock_ttl_ms: -1,
      epoch: 0,
    });
  });
});

describe('GET /admin/owners', () => {
  it('maps owned listeners to owner, owner_alive and fence (seed shape, extended)', async () => {
    const f = await fleet();
    const r = await f.call('/admin/owners', get);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      l1: { owner: 'a', owner_alive: true, fence: 1 },
      l2: { owner: 'c', owner_alive: false, fence: 1 },
    });
  });

  it('leaves out listeners whose owner released them (fence kept)', async () => {
    const f = await fleet();
    await f.store.releaseListener('l1', 'a');
    const r = await f.call('/admin/owners', get);
    expect(Object.keys(r.json)).toEqual(['l2']);
  });
});

describe('GET /admin/listeners', () => {
  it('lists desired and observed state of every known listener, never a token', async () => {
    const f = await fleet();
    const r = await f.call('/admin/listeners', get);
    expect(r.status).toBe(200);
    expect(r.json.count).toBe(3);
    expect(r.json.listeners[0]).toEqual({
      listener_id: 'l1',
      desired: true,
      generation: 1,
      owner: 'a',
      owner_alive: true,
      fence: 1,
      status: { state: 'live', owner: 'a', fence: 1, since: 5, attempts: 1, last_error: null },
    });
    expect(r.json.listeners[1]).toMatchObject({
      listener_id: 'l2',
      owner: 'c',
      owner_alive: false,
    });
    expect(r.json.listeners[2]).toMatchObject({
      listener_id: 'l3',
      desired: true,
      owner: null,
      status: null,
    });
    expect(r.text).not.toContain('secret-');
    expect(f.appStore.tokenReads).toBe(0);
  });

  it('keeps listing a stopped listener the store still knows (fence/status), as not desired', async () => {
    const f = await fleet();
    await f.store.removeDesired('l1');
    const r = await f.call('/admin/listeners/l1', get);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ listener_id: 'l1', desired: false, generation: null });
  });

  it('GET /admin/listeners/:id answers one listener', async () => {
    const f = await fleet();
    const r = await f.call('/admin/listeners/l3', get);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      listener_id: 'l3',
      desired: true,
      generation: 1,
      owner: null,
      owner_alive: false,
      fence: 0,
      status: null,
    });
  });

  it.each([
    ['unknown id', '/admin/listeners/zzz', 404, 'LISTENER_NOT_FOUND'],
    ['129 characters', `/admin/listeners/${'x'.repeat(129)}`, 400, 'INVALID_LISTENER_ID'],
    ['encoded slash', '/admin/listeners/a%2Fb', 400, 'INVALID_LISTENER_ID'],
    ['encoded space', '/admin/listeners/a%20b', 400, 'INVALID_LISTENER_ID'],
    ['a/b (two segments)', '/admin/listeners/a/b', 404, 'NOT_FOUND'],
  ])('%s -> %i %s', async (_name, path, status, code) => {
    const f = await fleet();
    const before = await storeState(f.store);
    const r = await f.call(path, get);
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(await storeState(f.store)).toBe(before);
  });
});

describe('runtime views', () => {
  it('GET /admin/machines answers the view machine definitions', async () => {
    const f = fixture();
    const r = await f.call('/admin/machines', get);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ instance: { id: 'instance', states: { waiting: {}, leader: {} } } });
  });

  it('GET /admin/actors answers the view actor snapshots', async () => {
    const f = fixture();
    const r = await f.call('/admin/actors', get);
    expect(r.status).toBe(200);
    expect(r.json.instance_id).toBe('instance-1-1');
    expect(r.json.count).toBe(2);
    expect(r.json.actors[1]).toMatchObject({
      id: 'l1',
      kind: 'listener',
      value: { owned: 'live' },
    });
  });
});

describe('service routes', () => {
  it('GET /healthz is 200 without auth and without touching the store', async () => {
    const f = fixture();
    await f.store.close(); // any store call would now throw
    f.view.ready = false;
    const r = await f.call('/healthz');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok' });
  });

  it('GET /readyz follows view.isReady()', async () => {
    const f = fixture();
    const ready = await f.call('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({
      status: 'ready',
      instance_id: 'instance-1-1',
      role: 'leader',
    });
    f.view.ready = false;
    const notReady = await f.call('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.json.error.code).toBe('NOT_READY');
  });

  it('GET /metrics renders the Prometheus text of the app registry', async () => {
    const f = fixture();
    f.metrics.leader.set(1);
    f.metrics.messages.inc({ result: 'duplicate' }, 2);
    const r = await f.call('/metrics');
    expect(r.status).toBe(200);
    expect(r.res.headers.get('content-type')).toContain('text/plain');
    expect(r.text).toContain(`${METRIC_NAMES.leader} 1`);
    expect(r.text).toContain(`${METRIC_NAMES.messages}{result="duplicate"} 2`);
  });

  it('an unknown path is 404 NOT_FOUND in the error shape', async () => {
    const f = fixture();
    const r = await f.call('/nope');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });

  it('a store that is down makes the admin reads 503 STORE_UNAVAILABLE', async () => {
    const f = fixture();
    await f.store.close();
    for (const path of [
      '/admin/instances',
      '/admin/owners',
      '/admin/ownership',
      '/admin/listeners',
      '/admin/listeners/l1',
    ]) {
      const r = await f.call(path, get);
      expect([path, r.status, r.json.error.code]).toEqual([path, 503, 'STORE_UNAVAILABLE']);
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route the app serves', async () => {
    const f = fixture();
    const r = await f.call('/openapi.json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toBe('3.1.0');
    const documented = Object.entries(r.json.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((k) => k !== 'parameters')
          .map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .sort();
    const served = [
      ...new Set(
        f.app.routes
          .filter((route) => route.method !== 'ALL')
          .map((route) => `${route.method} ${route.path}`),
      ),
    ].sort();
    expect(documented).toEqual(served);
    expect(served).toContain('POST /admin/command');
    expect(served).toContain('GET /admin/inspect');
  });
});
