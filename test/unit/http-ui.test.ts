/**
 * The dashboard's server side: the static router (CSP, cache headers, no path escapes, a clear
 * answer when unbuilt), the guard exemption for the page shell, and the rates ring's arithmetic.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { adminGuard } from '../../src/http/auth.js';
import { errorHandler } from '../../src/http/errors.js';
import { RatesRing } from '../../src/http/rates.js';
import { guardExceptUiShell, UI_CSP, uiRoutes } from '../../src/http/routes/ui.js';
import { createMetrics } from '../../src/metrics.js';
import { AUTH, fixture } from '../support/http-fixture.js';

function builtDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'assets', 'index-AbCd1234.js'), 'export {};');
  return dir;
}

function app(options: { token: string | null; dir: string; remote?: string }) {
  const a = new Hono();
  const guard = adminGuard(options.token, () => options.remote ?? '127.0.0.1');
  a.use('/admin/*', guardExceptUiShell(options.token, guard));
  a.route('/admin', uiRoutes({ dir: options.dir }));
  a.get('/admin/instances', (c) => c.json({ ok: true }));
  a.onError(errorHandler(pino({ level: 'silent' })));
  return a;
}

describe('GET /admin/ui/', () => {
  it('serves the page with the strict CSP and no-cache, hashed assets as immutable', async () => {
    const a = app({ token: null, dir: builtDir() });
    const page = await a.request('/admin/ui/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(UI_CSP);
    expect(UI_CSP).toContain("script-src 'self'");
    expect(UI_CSP).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const js = await a.request('/admin/ui/assets/index-AbCd1234.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await a.request('/admin/ui/favicon.svg')).headers.get('content-type')).toBe(
      'image/svg+xml',
    );
    const bare = await a.request('/admin/ui');
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/admin/ui/']);
  });

  it('never serves a file outside the built folder', async () => {
    const a = app({ token: null, dir: join(builtDir(), 'assets') });
    for (const path of ['/admin/ui/../index.html', '/admin/ui/%2e%2e/index.html', '/admin/ui/x']) {
      expect((await a.request(path)).status).toBe(404);
    }
  });

  it('says how to build it when it is not built', async () => {
    const a = app({ token: null, dir: join(tmpdir(), 'baton-ui-absent-folder') });
    const r = await a.request('/admin/ui/');
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain(
      'npm run build',
    );
  });

  it('without ADMIN_TOKEN the page, like /admin/*, answers loopback clients only', async () => {
    const a = app({ token: null, dir: builtDir(), remote: '10.1.2.3' });
    expect((await a.request('/admin/ui/')).status).toBe(403);
    expect((await a.request('/admin/instances')).status).toBe(403);
  });

  it('with ADMIN_TOKEN the page shell loads, and its data needs the token', async () => {
    const a = app({ token: 's3cret-admin', dir: builtDir(), remote: '10.1.2.3' });
    expect((await a.request('/admin/ui/')).status).toBe(200);
    expect((await a.request('/admin/instances')).status).toBe(401);
    const authed = await a.request('/admin/instances', {
      headers: { Authorization: 'Bearer s3cret-admin' },
    });
    expect(authed.status).toBe(200);
    // Only reads of the shell are exempt.
    expect((await a.request('/admin/ui/', { method: 'POST' })).status).toBe(401);
  });
});

describe('RatesRing', () => {
  it('turns counter samples into per-second rates, and stops sampling when nobody reads', async () => {
    const clock = new ManualClock();
    const metrics = createMetrics();
    const ring = new RatesRing(metrics, clock, { intervalMs: 1000, capacity: 3, idleStopMs: 5000 });
    /** Advances one sampling interval at a time, letting each asynchronous sample finish. */
    const step = async (intervals: number) => {
      for (let i = 0; i < intervals; i++) {
        clock.advance(1000);
        await new Promise((r) => setImmediate(r));
      }
    };
    expect((await ring.read()).points).toEqual([]);
    metrics.messages.inc({ result: 'emitted' }, 10);
    metrics.messages.inc({ result: 'duplicate' }, 2);
    metrics.handoffs.inc({ mode: 'overlap' });
    await step(1);
    expect(ring.report().points).toEqual([
      { t: clock.now(), emitted: 10, duplicate: 2, stale: 0, handoffs: 1 },
    ]);
    metrics.messages.inc({ result: 'stale' }, 4);
    await step(1);
    metrics.messages.inc({ result: 'emitted' }, 3);
    await step(1);
    // Capacity 3 samples: 2 rate points, the oldest sample dropped.
    const r = ring.report();
    expect(r.points.map((p) => [p.emitted, p.stale])).toEqual([
      [0, 4],
      [3, 0],
    ]);
    expect(r.totals).toEqual({ emitted: 13, duplicate: 2, stale: 4, handoffs: 1 });
    expect(clock.pending()).toBe(1);
    await step(3);
    expect(clock.pending()).toBe(0); // five seconds without a read: sampling stopped
    await ring.read();
    expect(clock.pending()).toBe(1); // and a read starts it again
    ring.stop();
    expect(clock.pending()).toBe(0);
  });
});

describe('GET /admin/instances/:id/actors and /inspect (fan-out)', () => {
  const peer = async (id: string, meta?: Record<string, string | number | boolean>) => {
    const f = fixture();
    await f.store.registerInstance({ id, role: 'waiting', ...(meta ? { meta } : {}) }, 60_000);
    return f;
  };

  it("answers this instance's own actors, and sends its own stream to /admin/inspect", async () => {
    const f = fixture();
    const r = await f.call('/admin/instances/instance-1-1/actors', { headers: AUTH });
    expect(r.status).toBe(200);
    expect(r.json.instance_id).toBe('instance-1-1');
    expect(r.json.actors.map((a: { id: string }) => a.id)).toEqual(['instance', 'l1']);
    const s = await f.call('/admin/instances/instance-1-1/inspect', { headers: AUTH });
    expect([s.status, s.res.headers.get('location')]).toEqual([307, '/admin/inspect']);
  });

  it('refuses an unknown instance, one with no admin address, and a non-http address', async () => {
    const f = await peer('other', { port: 1 });
    await f.store.registerInstance(
      { id: 'odd', role: 'waiting', meta: { admin_url: 'file:///etc/passwd' } },
      60_000,
    );
    for (const [id, message] of [
      ['nobody', /no live instance/],
      ['other', /registered no admin address/],
      ['odd', /registered no admin address/],
    ] as const) {
      for (const leaf of ['actors', 'inspect']) {
        const r = await f.call(`/admin/instances/${id}/${leaf}`, { headers: AUTH });
        expect([id, leaf, r.status, r.json.error.code]).toEqual([id, leaf, 404, 'NOT_FOUND']);
        expect(r.json.error.message).toMatch(message);
      }
    }
  });

  it('is guarded like the rest of /admin, and a peer that does not answer is a 503', async () => {
    const f = await peer('gone', { admin_url: 'http://127.0.0.1:9' });
    expect((await f.call('/admin/instances/gone/actors')).status).toBe(401);
    const r = await f.call('/admin/instances/gone/actors', { headers: AUTH });
    expect([r.status, r.json.error.code]).toEqual([503, 'PEER_UNAVAILABLE']);
    expect(r.text).not.toContain('127.0.0.1:9');
  });
});
